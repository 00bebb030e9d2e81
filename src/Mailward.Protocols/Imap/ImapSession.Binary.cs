// FETCH BINARY[section]<partial>, BINARY.PEEK and BINARY.SIZE (RFC 3516 §4.2-4.3, part of
// IMAP4rev2: RFC 9051 §6.4.5, §7.5.2): a section sent with its Content-Transfer-Encoding removed
// (Fetch/BinaryContent.cs). The decoded length must be known before the literal starts, so a
// section is decoded twice, streaming both times: once to count (and to see whether a NUL needs a
// literal8, "~{n}", RFC 9051 §4.3.1), once to send, flushed in 64 KiB steps.
using System.Buffers;
using System.Globalization;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    /// <summary>BINARY[part]&lt;partial&gt;, BINARY.PEEK[part]&lt;partial&gt; or BINARY.SIZE[part]; null when malformed.</summary>
    private static FetchItem? ParseBinaryItem(string upper)
    {
        var size = upper.StartsWith("BINARY.SIZE[", StringComparison.Ordinal);
        var peek = upper.StartsWith("BINARY.PEEK[", StringComparison.Ordinal);
        if (!size && !peek && !upper.StartsWith("BINARY[", StringComparison.Ordinal))
            return null;
        var open = upper.IndexOf('[');
        var close = upper.IndexOf(']');
        if (close < open)
            return null;
        // section-binary = "[" [section-part] "]" (RFC 9051 §9): part numbers only.
        var section = upper[(open + 1)..close];
        var parsed = Fetch.Section.Whole;
        if (section.Length > 0)
        {
            if (ParseSection(section) is not { Kind: Fetch.SectionKind.Content } part || part.Part.Length == 0)
                return null;
            parsed = part;
        }
        var rest = upper[(close + 1)..];
        long start = -1, length = -1;
        if (rest.Length > 0)
        {
            // <start.length>, counted in the decoded octets (RFC 3516 §4.2); BINARY.SIZE takes none.
            var dot = rest.IndexOf('.');
            if (size || rest[0] != '<' || rest[^1] != '>' || dot < 0
                || !long.TryParse(rest[1..dot], NumberStyles.None, CultureInfo.InvariantCulture, out start)
                || !long.TryParse(rest[(dot + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out length) || length == 0)
                return null;
        }
        return size
            ? new FetchItem(FetchKind.BinarySize, $"BINARY.SIZE[{section}]", section) { Parsed = parsed }
            : new FetchItem(FetchKind.Binary, $"BINARY[{section}]", section, start, length, peek) { Parsed = parsed };
    }

    /// <summary>True when every BINARY item of the list names a section whose encoding this server can remove.</summary>
    private static bool BinaryDecodable(MessageStructure structure, List<FetchItem> items)
    {
        foreach (var item in items)
            if (item.Kind is FetchKind.Binary or FetchKind.BinarySize && item.Parsed!.Part.Length > 0
                && structure.Find(item.Parsed.Part) is { Kind: BodyPartKind.Leaf } part && !Fetch.BinaryContent.Known(part.Encoding))
                return false;
        return true;
    }

    /// <summary>Writes "BINARY[...] {n}" or "~{n}" and the decoded octets, or "BINARY.SIZE[...] n".</summary>
    private async Task WriteBinaryAsync(FetchItem item, MessageStructure structure, MessageReader? reader, CancellationToken ct)
    {
        var content = reader is null ? null : Fetch.BinaryContent.Open(structure, reader, item.Parsed!.Part);
        if (item.Kind == FetchKind.BinarySize)
        {
            Raw(_channel.Output, $"{item.Name} {content?.Measure().Length ?? 0}");
            return;
        }
        var from = Math.Max(item.Start, 0);
        var (total, nul) = content?.Measure(from, item.Length < 0 ? long.MaxValue : item.Length) ?? (0, false);
        from = Math.Min(from, total);
        var count = item.Length < 0 ? total - from : Math.Min(item.Length, total - from);
        var label = item.Start >= 0 ? $"{item.Name}<{item.Start}>" : item.Name;
        // RFC 9051 §7.5.2: data without a NUL SHOULD go as a string, so a client learns there is none.
        Raw(_channel.Output, $"{label} {(nul ? "~" : "")}{{{count}}}\r\n");
        if (content is null || count == 0)
            return;
        using var blocks = content.Blocks();
        long at = 0, sent = 0, end = from + count;
        for (var block = blocks.Next(); !block.IsEmpty && at < end; block = blocks.Next())
        {
            var a = (int)Math.Clamp(from - at, 0, block.Length);
            var b = (int)Math.Clamp(end - at, 0, block.Length);
            if (b > a)
                _channel.Output.Write(block.Span[a..b]);
            sent += Math.Max(0, b - a);
            at += block.Length;
            if (_channel.Output.WrittenCount > 1 << 16)
                await _channel.FlushAsync(ct);
        }
        // The file changed between the passes (it should not: stored messages are immutable): keep the literal's length true.
        for (; sent < count; sent++)
            _channel.Output.Write(" "u8);
    }

    /// <summary>
    /// APPEND's literal8 (RFC 3516 §4.4) on its way into the store. The store keeps a message with
    /// LF line ends and gives it back with CRLF, so only CR and LF that come as CRLF pairs survive;
    /// a bare CR or LF (common inside raw binary content) would come back changed. RFC 3516 §4.4
    /// forbids a change that loses data and lets a mailbox that cannot keep binary content refuse it
    /// with [UNKNOWN-CTE]: this stream throws at the first such octet, and the store drops what it
    /// wrote. NUL octets are kept as they are.
    /// </summary>
    private sealed class Literal8Stream(LiteralStream inner) : Stream
    {
        private bool _cr; // the octet before was a CR

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            if (n == 0 && _cr && inner.Complete)
                throw new BareLineEndException();
            foreach (var b in buffer.Span[..n])
            {
                if (_cr != (b == (byte)'\n'))
                    throw new BareLineEndException();
                _cr = b == (byte)'\r';
            }
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A literal8 holds a CR or LF that is not part of a CRLF pair.</summary>
    private sealed class BareLineEndException() : IOException("a bare CR or LF in a literal8 would not survive the mail store");
}
