// A read-only, seekable Stream over a MessageReader's positioned reads, for MimeKit's parser, the
// measuring pass and IMAP's SEARCH (none moves the reader's own front-to-back position).
namespace Mailward.Core.MailStore.Structure;

/// <summary>A stored message as a read-only, seekable stream; disposes the reader when it owns it.</summary>
public sealed class MessageReaderStream(MessageReader reader, bool ownsReader = false) : Stream
{
    private readonly long _length = reader.Length;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;
    public override long Position { get; set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (Position >= _length)
            return 0;
        var n = reader.ReadAt(buffer[..(int)Math.Min(buffer.Length, _length - Position)], Position);
        Position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => Position + offset,
        _ => _length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && ownsReader)
            reader.Dispose();
        base.Dispose(disposing);
    }

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
