// The stream every session reads and writes over Kestrel's pipes (Hosting/PipeStream.cs): reads that
// complete at once and reads that wait, a read of no octets that leaves the input where it is, the
// end of input, cancellation while waiting, and writes that reach the other end whole.
using System.IO.Pipelines;
using System.Text;
using Mailward.Protocols.Hosting;
using Mailward.Tests.Support;

namespace Mailward.Tests.Common;

public class PipeStreamTests
{
    private readonly Pipe _toServer = new();
    private readonly Pipe _toClient = new();
    private readonly PipeStream _stream;

    public PipeStreamTests() => _stream = new PipeStream(new DuplexPipe(_toServer.Reader, _toClient.Writer));

    [Fact]
    public async Task A_read_takes_what_fits_and_leaves_the_rest_for_the_next()
    {
        await _toServer.Writer.WriteAsync("a1 NOOP\r\n"u8.ToArray());
        var buffer = new byte[4];
        Assert.Equal(4, await _stream.ReadAsync(buffer));
        Assert.Equal("a1 N", Encoding.ASCII.GetString(buffer));
        Assert.Equal(4, await _stream.ReadAsync(buffer));
        Assert.Equal("OOP\r", Encoding.ASCII.GetString(buffer));
        Assert.Equal(1, await _stream.ReadAsync(buffer));
        Assert.Equal((byte)'\n', buffer[0]);
    }

    [Fact]
    public async Task A_read_that_waits_gets_the_octets_when_they_come_and_reads_after_it_work_again()
    {
        var buffer = new byte[64];
        for (var round = 0; round < 3; round++) // the wait's state is reused from read to read
        {
            var read = _stream.ReadAsync(buffer).AsTask();
            await Task.Delay(50);
            Assert.False(read.IsCompleted);
            await _toServer.Writer.WriteAsync(Encoding.ASCII.GetBytes($"a{round} NOOP\r\n"));
            Assert.Equal(9, await read.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal($"a{round} NOOP\r\n", Encoding.ASCII.GetString(buffer, 0, 9));
        }
    }

    [Fact]
    public async Task A_read_of_no_octets_waits_for_input_and_takes_none_of_it()
    {
        var wait = _stream.ReadAsync(Memory<byte>.Empty).AsTask();
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);
        await _toServer.Writer.WriteAsync("DONE\r\n"u8.ToArray());
        Assert.Equal(0, await wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, await _stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(TimeSpan.FromSeconds(10))); // input there: at once, none taken
        var buffer = new byte[64];
        Assert.Equal(6, await _stream.ReadAsync(buffer));
        Assert.Equal("DONE\r\n", Encoding.ASCII.GetString(buffer, 0, 6));
    }

    [Fact]
    public async Task The_end_of_input_reads_as_zero_whether_the_read_waited_or_not()
    {
        var buffer = new byte[16];
        var read = _stream.ReadAsync(buffer).AsTask();
        await _toServer.Writer.CompleteAsync();
        Assert.Equal(0, await read.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, await _stream.ReadAsync(buffer));
    }

    [Fact]
    public async Task A_cancelled_wait_throws_and_the_stream_reads_again_afterwards()
    {
        using var cts = new CancellationTokenSource();
        var read = _stream.ReadAsync(new byte[16], cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)));

        var buffer = new byte[16];
        var next = _stream.ReadAsync(buffer).AsTask();
        await _toServer.Writer.WriteAsync("x\r\n"u8.ToArray());
        Assert.Equal(3, await next.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_pending_read_cancelled_by_the_pipe_throws()
    {
        var read = _stream.ReadAsync(new byte[16]).AsTask();
        _toServer.Reader.CancelPendingRead();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_failure_shows_in_what_is_awaited_not_in_the_call()
    {
        var cancelled = _stream.ReadAsync(new byte[8], new CancellationToken(canceled: true)).AsTask(); // no throw here
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        _toServer.Reader.Complete(); // reading after the reader is done is the pipe's error
        var read = _stream.ReadAsync(new byte[8]).AsTask();
        await Assert.ThrowsAsync<InvalidOperationException>(() => read);
        _toClient.Writer.Complete();
        var write = _stream.WriteAsync("x"u8.ToArray()).AsTask();
        await Assert.ThrowsAsync<InvalidOperationException>(() => write);
    }

    [Fact]
    public async Task Writes_and_the_synchronous_calls_reach_the_other_end_in_order()
    {
        await _stream.WriteAsync("* OK ready\r\n"u8.ToArray());
        _stream.Write("a1 OK done\r\n"u8.ToArray(), 0, 12);
        await _stream.FlushAsync();
        var got = await _toClient.Reader.ReadAtLeastAsync(24);
        Assert.Equal("* OK ready\r\na1 OK done\r\n", Encoding.ASCII.GetString(got.Buffer));

        await _toServer.Writer.WriteAsync("abc"u8.ToArray());
        var buffer = new byte[8];
        Assert.Equal(3, _stream.Read(buffer, 0, 8));
        Assert.Equal("abc", Encoding.ASCII.GetString(buffer, 0, 3));
    }
}
