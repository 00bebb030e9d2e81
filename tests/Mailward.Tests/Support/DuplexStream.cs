// Two in-memory pipes as a connected pair of streams: what a test uses instead of a socket.
using System.IO.Pipelines;

namespace Mailward.Tests.Support;

public sealed class DuplexStream(Stream read, Stream write) : Stream
{
    public static (Stream Client, Stream Server) CreatePair()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        return (new DuplexStream(toClient.Reader.AsStream(), toServer.Writer.AsStream()),
                new DuplexStream(toServer.Reader.AsStream(), toClient.Writer.AsStream()));
    }

    /// <summary>A session on the server side of a new pair, that side closed when it ends: the client side and the running session.</summary>
    public static (Stream Client, Task Session) Serve(Func<Stream, Task> session)
    {
        var (client, server) = CreatePair();
        var run = Task.Run(async () =>
        {
            try
            {
                await session(server);
            }
            finally
            {
                server.Dispose();
            }
        });
        return (client, run);
    }

    /// <summary>
    /// Sends <paramref name="input"/> to a session (in <paramref name="chunk"/>-byte writes; 0: one
    /// write), then ends the input; returns everything the session wrote until it ended.
    /// </summary>
    public static async Task<byte[]> ConverseAsync(Func<Stream, Task> session, byte[] input, int chunk = 0)
    {
        var (client, run) = Serve(session);
        await using var _ = client;
        var output = new MemoryStream();
        var reading = client.CopyToAsync(output);
        var step = chunk <= 0 ? Math.Max(1, input.Length) : chunk;
        for (var i = 0; i < input.Length; i += step)
        {
            await client.WriteAsync(input.AsMemory(i, Math.Min(step, input.Length - i)));
            await client.FlushAsync();
        }
        ((DuplexStream)client).CompleteWrite();
        await run.WaitAsync(TimeSpan.FromSeconds(20));
        await reading.WaitAsync(TimeSpan.FromSeconds(20));
        return output.ToArray();
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => read.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => read.ReadAsync(buffer, cancellationToken);
    public override void Write(byte[] buffer, int offset, int count) => write.Write(buffer, offset, count);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => write.WriteAsync(buffer, cancellationToken);
    public override void Flush() => write.Flush();
    public override Task FlushAsync(CancellationToken cancellationToken) => write.FlushAsync(cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Ends this side's output: the peer reads end of stream.</summary>
    public void CompleteWrite() => write.Dispose();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            read.Dispose();
            write.Dispose();
        }
        base.Dispose(disposing);
    }
}
