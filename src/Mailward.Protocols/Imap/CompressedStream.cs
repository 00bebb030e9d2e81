// The connection after COMPRESS DEFLATE (RFC 4978): both directions raw DEFLATE (RFC 1951) over the
// connection (TLS or not). Reads inflate what has arrived, whatever flush the client ended it with
// (a partial flush is what made mox withdraw the extension after iOS Mail sessions hung: here the
// inflater returns the data before a flush without waiting for more input; ImapCompressTests sends
// partial, sync and full flushes). Writes deflate, and each flush of the session ends its replies
// with a sync flush (§4: so the client can decode every reply it was sent).
using System.IO.Compression;

namespace Mailward.Protocols.Imap;

internal sealed class CompressedStream : Stream
{
    private readonly Stream _inner;
    private readonly DeflateStream _inflate;
    private readonly DeflateStream _deflate;
    private readonly WriteGate _gate;
    private bool _broken;

    /// <param name="ahead">Bytes the client sent after the COMPRESS command that were read already: the start of its compressed stream.</param>
    public CompressedStream(Stream inner, byte[] ahead)
    {
        _inner = inner;
        _inflate = new DeflateStream(ahead.Length == 0 ? inner : new AheadStream(ahead, inner), CompressionMode.Decompress, leaveOpen: true);
        // Fastest: replies are mostly small and the saving is in repetition (FETCH lines), which level 1 finds.
        _gate = new WriteGate(inner);
        _deflate = new DeflateStream(_gate, CompressionLevel.Fastest, leaveOpen: true);
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => _inflate.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => _inflate.ReadAsync(buffer, ct);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _inflate.ReadAsync(buffer, offset, count, ct);

    public override void Write(byte[] buffer, int offset, int count) => Guarded(() => _deflate.Write(buffer, offset, count));

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_broken, this);
        try
        {
            await _deflate.WriteAsync(buffer, ct);
        }
        catch
        {
            _broken = true;
            throw;
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    /// <summary>A sync flush of the deflater (DeflateStream's Flush is Z_SYNC_FLUSH), then the connection's.</summary>
    public override void Flush() => Guarded(_deflate.Flush);

    public override async Task FlushAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_broken, this);
        try
        {
            await _deflate.FlushAsync(ct);
        }
        catch
        {
            _broken = true;
            throw;
        }
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>A write that failed (the client went away) may leave the deflater half-way: it is never used again.</summary>
    private void Guarded(Action write)
    {
        ObjectDisposedException.ThrowIf(_broken, this);
        try
        {
            write();
        }
        catch
        {
            _broken = true;
            throw;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inflate.Dispose();
            // The session's last reply went out with a sync flush; the end block Dispose writes is
            // dropped, so freeing zlib's state never waits on a client that stopped reading.
            _gate.Closed = true;
            try
            {
                _deflate.Dispose();
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                // a deflater left half-way by a failed write: its native state is freed by its handle either way
            }
        }
        base.Dispose(disposing);
    }

    /// <summary>The deflater's way to the connection, shut when the session ends.</summary>
    private sealed class WriteGate(Stream inner) : Stream
    {
        public bool Closed { get; set; }

        public override bool CanRead => false;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (!Closed)
                inner.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken ct = default) =>
            Closed ? ValueTask.CompletedTask : inner.WriteAsync(buffer, ct);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override void Flush()
        {
            if (!Closed)
                inner.Flush();
        }

        public override Task FlushAsync(CancellationToken ct) => Closed ? Task.CompletedTask : inner.FlushAsync(ct);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>What was read ahead, then the connection.</summary>
    private sealed class AheadStream(byte[] ahead, Stream inner) : Stream
    {
        private int _at;

        public override bool CanRead => true;
        public override bool CanWrite => false;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_at >= ahead.Length)
                return inner.Read(buffer);
            var n = Math.Min(buffer.Length, ahead.Length - _at);
            ahead.AsSpan(_at, n).CopyTo(buffer);
            _at += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            _at >= ahead.Length ? inner.ReadAsync(buffer, ct) : ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        public override void Flush()
        {
        }

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
