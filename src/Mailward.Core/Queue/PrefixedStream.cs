// A few header bytes and then a stream, read as one: the queue's top fields above a queued body
// (docs/queue-format.md), or a DKIM-Signature field above the message on its way out. Seekable when
// the stream under it is, because local delivery reads the body again for every target.
namespace Mailward.Core.Queue;

public sealed class PrefixedStream(byte[] prefix, Stream rest) : Stream
{
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => rest.CanSeek;
    public override bool CanWrite => false;
    public override long Length => prefix.Length + rest.Length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            rest.Position = Math.Max(0, value - prefix.Length);
            _position = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position < prefix.Length)
            return FromPrefix(buffer);
        var n = rest.Read(buffer);
        _position += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position < prefix.Length)
            return FromPrefix(buffer.Span);
        var n = await rest.ReadAsync(buffer, cancellationToken);
        _position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private int FromPrefix(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, prefix.Length - _position);
        prefix.AsSpan((int)_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };
        return _position;
    }

    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            rest.Dispose();
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await rest.DisposeAsync();
        await base.DisposeAsync();
    }
}
