// An IMAP IDLE wait holds no input buffer (LineChannel.ReadMoreAsync with idle): over Kestrel's kind
// of pipes the read waits with a zero-byte read, and the buffer comes back with the client's input.
using System.IO.Pipelines;
using System.Text;
using Mailward.Protocols.Common;
using Mailward.Protocols.Hosting;

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

        var waiting = channel.ReadMoreAsync(TimeSpan.FromSeconds(30), default, idle: true).AsTask();
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(0, channel.InputCapacity); // the wait holds none

        await toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes("DONE\r\n"));
        Assert.Equal(6, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("DONE\r\n", Encoding.ASCII.GetString(channel.Buffered));
        Assert.Equal(2048, channel.InputCapacity);

        toServer.Writer.Complete(); // the client goes: the idle wait ends with 0
        channel.Consume(6);
        Assert.Equal(0, await channel.ReadMoreAsync(TimeSpan.FromSeconds(30), default, idle: true).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;
        public PipeWriter Output => output;
    }
}
