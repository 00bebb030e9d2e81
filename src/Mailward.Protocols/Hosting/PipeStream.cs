// A connection's pipes as one stream: what the sessions and SslStream read and write. It reads and
// writes the pipe's ends itself, with no adapter stream and no task per read that waits: an IMAP
// IDLE session waits in a read here, ten thousand at a time (docs/imap.md: what an IDLE session costs).
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Mailward.Protocols.Hosting;

public sealed class PipeStream : Stream, IValueTaskSource<int>
{
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly Action _readCompleted;

    // The one read that waits (a stream has at most one): the pipe's wait, where its octets go, and
    // what the caller awaits, reused from read to read.
    private ValueTaskAwaiter<ReadResult> _waiting;
    private Memory<byte> _destination;
    private ManualResetValueTaskSourceCore<int> _result;

    public PipeStream(IDuplexPipe pipe)
    {
        _reader = pipe.Input;
        _writer = pipe.Output;
        _readCompleted = ReadCompleted;
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>
    /// Up to <paramref name="buffer"/>'s length of what the client sent; 0 at its end. A read of no
    /// octets waits until some are there and takes none (a wait for input that holds no buffer).
    /// </summary>
    // The pipe's ValueTask is looked at once: its result only after IsCompleted, else its awaiter is kept and read once, in ReadCompleted.
#pragma warning disable CA2012
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            var read = _reader.ReadAsync(cancellationToken);
            if (read.IsCompleted)
                return new ValueTask<int>(Take(read.GetAwaiter().GetResult(), buffer.Span));
            _destination = buffer;
            _waiting = read.GetAwaiter();
            _result.Reset();
            _waiting.UnsafeOnCompleted(_readCompleted);
            return new ValueTask<int>(this, _result.Version);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(e); // a failure shows in what is awaited, as a stream's does
        }
    }
#pragma warning restore CA2012

    private void ReadCompleted()
    {
        // Cleared before the result is set: the caller's continuation runs inside SetResult and may read again.
        var waiting = _waiting;
        var destination = _destination;
        _waiting = default;
        _destination = default;
        int count;
        try
        {
            count = Take(waiting.GetResult(), destination.Span);
        }
        catch (Exception e)
        {
            _result.SetException(e);
            return;
        }
        _result.SetResult(count);
    }

    private int Take(ReadResult result, Span<byte> destination)
    {
        if (result.IsCanceled)
        {
            _reader.AdvanceTo(result.Buffer.Start);
            throw new OperationCanceledException("the read was cancelled");
        }
        var octets = result.Buffer;
        var count = (int)Math.Min(octets.Length, destination.Length);
        var taken = octets.Slice(0, count);
        taken.CopyTo(destination);
        _reader.AdvanceTo(taken.End); // nothing examined beyond what is taken: a zero-byte read leaves all of it for the next
        return count;
    }

    int IValueTaskSource<int>.GetResult(short token) => _result.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _result.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _result.OnCompleted(continuation, state, token, flags);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>Copies into the pipe and flushes it (waiting only while the client is behind on reading).</summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            var flush = _writer.WriteAsync(buffer, cancellationToken);
            if (!flush.IsCompleted)
                return WaitAsync(flush);
            Check(flush.GetAwaiter().GetResult());
            return default;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }

        static async ValueTask WaitAsync(ValueTask<FlushResult> flush) => Check(await flush);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            var flush = _writer.FlushAsync(cancellationToken);
            if (!flush.IsCompleted)
                return WaitAsync(flush);
            Check(flush.GetAwaiter().GetResult());
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }

        static async Task WaitAsync(ValueTask<FlushResult> flush) => Check(await flush);
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    private static void Check(FlushResult result)
    {
        if (result.IsCanceled)
            throw new OperationCanceledException("the write was cancelled");
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
