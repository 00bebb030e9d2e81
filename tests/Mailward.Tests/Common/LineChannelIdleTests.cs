// An IMAP IDLE wait holds no input buffer (LineChannel.WaitForInputAsync): over Kestrel's kind of
// pipes it is a zero-byte read, and the buffer comes back with the read of the client's input; nor
// a reply buffer once its replies are flushed (ReleaseOutput).
using System.IO.Pipelines;
using System.Text;
using Mailward.Protocols.Common;
using Mailward.Protocols.Hosting;
using Mailward.Tests.Support;

namespace Mailward.Tests.Common;

public class LineChannelIdleTests
{
    [Fact]
    public async Task An_idle_wait_holds_no_buffer_and_the_input_arrives_whole()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var stream = new PipeStream(new DuplexPipe(toServer.Reader, toClient.Writer));
        var channel = new LineChannel(stream, 2048, 8192, TimeSpan.FromSeconds(30), Encoding.ASCII);
        await toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes("a1 IDLE\r\n"));
        Assert.Equal("a1 IDLE", await channel.ReadLineAsync(default));
        Assert.Equal(2048, channel.InputCapacity); // a command is read into the buffer

        var waiting = channel.WaitForInputAsync(default).AsTask();
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(0, channel.InputCapacity); // the wait holds none

        await toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes("DONE\r\n"));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, channel.InputCapacity); // input is there, still unread
        Assert.Equal(6, await channel.ReadMoreAsync(TimeSpan.FromSeconds(30), default));
        Assert.Equal("DONE\r\n", Encoding.ASCII.GetString(channel.Buffered));
        Assert.Equal(2048, channel.InputCapacity);
        Assert.True(channel.WaitForInputAsync(default).AsTask().IsCompleted); // buffered input: no wait
        channel.Consume(6);

        toServer.Writer.Complete(); // the client goes: the wait ends, and the read says 0
        await channel.WaitForInputAsync(default).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await channel.ReadMoreAsync(TimeSpan.FromSeconds(30), default));
    }

    [Fact]
    public async Task A_released_reply_buffer_is_let_go_only_when_flushed_and_replies_still_go_out_whole()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var channel = new LineChannel(new PipeStream(new DuplexPipe(toServer.Reader, toClient.Writer)), 2048, 8192, TimeSpan.FromSeconds(30), Encoding.ASCII);
        channel.Reply("+ idling");
        channel.ReleaseOutput(); // not flushed yet: kept
        Assert.Equal(10, channel.Output.WrittenCount);
        await channel.FlushAsync(default);
        channel.ReleaseOutput();
        Assert.Equal(0, channel.Output.Capacity); // the idle session holds none

        channel.Reply("* 1 EXISTS"); // a change during the wait gets a new, small buffer
        await channel.FlushAsync(default);
        var read = await toClient.Reader.ReadAtLeastAsync(22);
        Assert.Equal("+ idling\r\n* 1 EXISTS\r\n", Encoding.ASCII.GetString(read.Buffer));
    }
}
