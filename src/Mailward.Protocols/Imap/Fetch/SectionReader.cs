// The content of a BODY[section] (RFC 9051 §6.4.5, §7.5.2) from the stored file and its cached
// structure: streamed in blocks with CRLF line ends (a bare LF on disk goes out as CRLF), so its
// length is what the structure's CRLF sizes and RFC822.SIZE say; partial fetches (<n.m>) cut the
// CRLF form. HEADER.FIELDS (.NOT) picks whole fields (with their folded lines) and ends with the
// blank line, as Dovecot does.
using System.Buffers;
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Protocols.Imap.Fetch;

public static class SectionReader
{
    /// <summary>
    /// The section's content. A section the message does not have (a part number past the end,
    /// HEADER or TEXT of a part that is not a message/rfc822, MIME of the message) is empty, as
    /// Dovecot answers it.
    /// </summary>
    public static SectionContent Open(MessageStructure s, MessageReader message, Section section)
    {
        var part = section.Part.Length == 0 ? s.Root : s.Find(section.Part);
        if (part is null)
            return SectionContent.Empty;
        if (section.Kind is not (SectionKind.Content or SectionKind.Mime) && section.Part.Length > 0)
        {
            // n.HEADER, n.TEXT and n.HEADER.FIELDS name the message inside a message/rfc822 part.
            if (part.Kind != BodyPartKind.Message || part.Message is null)
                return SectionContent.Empty;
            part = part.Message;
        }
        return section.Kind switch
        {
            SectionKind.Content when section.Part.Length == 0 => new SectionContent(message, new Region(0, s.Size, s.VirtualSize, 0)),
            SectionKind.Content => new SectionContent(message, part.Body),
            SectionKind.Text => new SectionContent(message, part.Body),
            SectionKind.Header => new SectionContent(message, part.Header),
            SectionKind.Mime => section.Part.Length == 0 ? SectionContent.Empty : new SectionContent(message, part.Header),
            _ => new SectionContent(HeaderFields(message, part.Header, section.Fields ?? [], section.Kind == SectionKind.HeaderFieldsNot)),
        };
    }

    /// <summary>
    /// The fields of a header whose names are (or, with not, are not) in the list, then a blank
    /// line; CRLF line ends. HEADER.FIELDS.NOT ends with the blank line only when the header has
    /// one (Dovecot's answer for a message that is all header).
    /// </summary>
    private static byte[] HeaderFields(MessageReader message, Region header, IReadOnlyList<string> names, bool not)
    {
        var wanted = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
        var bytes = new byte[header.Length];
        var got = 0;
        while (got < bytes.Length)
        {
            var n = message.ReadAt(bytes.AsSpan(got), header.Offset + got);
            if (n <= 0)
                break;
            got += n;
        }
        var output = new ArrayBufferWriter<byte>(256);
        var keep = false;
        var at = 0;
        var blank = false;
        while (at < got)
        {
            var lf = Array.IndexOf(bytes, (byte)'\n', at, got - at);
            var end = lf < 0 ? got : lf + 1;
            var line = bytes.AsSpan(at, end - at);
            var content = line.TrimEnd("\r\n"u8);
            if (content.Length == 0)
            {
                blank = true; // the blank line that ends the header
                break;
            }
            if (content[0] is not ((byte)' ' or (byte)'\t'))
            {
                var colon = content.IndexOf((byte)':');
                var name = colon < 0 ? null : Encoding.Latin1.GetString(content[..colon]).TrimEnd(' ', '\t');
                keep = name is not null && wanted.Contains(name) != not;
            }
            if (keep)
            {
                output.Write(content);
                output.Write("\r\n"u8);
            }
            at = end;
        }
        if (blank || !not)
            output.Write("\r\n"u8);
        return output.WrittenSpan.ToArray();
    }
}

/// <summary>A section's bytes with CRLF line ends, read from the file as they are written out.</summary>
public sealed class SectionContent
{
    private readonly MessageReader? _message;
    private readonly Region _region;
    private readonly byte[]? _bytes;

    internal SectionContent(MessageReader message, Region region) => (_message, _region) = (message, region);

    internal SectionContent(byte[] bytes) => _bytes = bytes;

    public static SectionContent Empty { get; } = new([]);

    /// <summary>The length with CRLF line ends.</summary>
    public long Length => _bytes?.Length ?? _region.Size;

    /// <summary>Writes count bytes from start (of the CRLF form); a partial fetch past the end writes nothing.</summary>
    public void CopyTo(IBufferWriter<byte> w, long start = 0, long count = long.MaxValue) =>
        CopyToAsync(w, start, count, static _ => ValueTask.CompletedTask, default).GetAwaiter().GetResult();

    /// <summary>
    /// As <see cref="CopyTo"/>, with <paramref name="afterBlock"/> called after each block of at most
    /// 64 KiB read from the file: the session sends what is written there, so a large part goes out
    /// in blocks and is never held whole in memory.
    /// </summary>
    public async Task CopyToAsync(IBufferWriter<byte> w, long start, long count, Func<CancellationToken, ValueTask> afterBlock, CancellationToken ct)
    {
        start = Math.Clamp(start, 0, Length);
        count = Math.Clamp(count, 0, Length - start);
        if (_bytes is not null)
        {
            ImapStrings.WriteLiteralOctets(w, _bytes.AsSpan((int)start, (int)count));
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var previous = ByteBefore(_message!, _region.Offset); // an LF right after a CR outside the region is no bare LF
            long outAt = 0, end = start + count, position = _region.Offset;
            while (outAt < end && position < _region.End)
            {
                var n = _message!.ReadAt(buffer.AsSpan(0, (int)Math.Min(buffer.Length, _region.End - position)), position);
                if (n <= 0)
                    break;
                position += n;
                outAt = WriteCrlf(w, buffer.AsSpan(0, n), ref previous, outAt, start, end);
                await afterBlock(ct);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static byte ByteBefore(MessageReader message, long offset)
    {
        Span<byte> one = stackalloc byte[1];
        return offset > 0 && message.ReadAt(one, offset - 1) == 1 ? one[0] : (byte)0;
    }

    /// <summary>One block read from the file, written with a CR before every bare LF; returns the output position after it.</summary>
    private static long WriteCrlf(IBufferWriter<byte> w, ReadOnlySpan<byte> block, ref byte previous, long outAt, long start, long end)
    {
        // Line by line with the vectorized search, not byte by byte: a bare LF ends what is
        // emitted so far and a CR goes out before it; an LF after a CR stays inside the run.
        var from = 0;
        var at = 0;
        while (outAt < end)
        {
            var lf = block[at..].IndexOf((byte)'\n');
            if (lf < 0)
                break;
            var i = at + lf;
            if ((i > 0 ? block[i - 1] : previous) != (byte)'\r')
            {
                Emit(w, block[from..i], ref outAt, start, end);
                Emit(w, "\r"u8, ref outAt, start, end);
                from = i;
            }
            at = i + 1;
        }
        if (!block.IsEmpty)
            previous = block[^1];
        Emit(w, block[from..], ref outAt, start, end);
        return outAt;
    }

    /// <summary>
    /// A block with a CR put before every bare LF, into <paramref name="output"/> (at least twice the
    /// block's length); <paramref name="last"/> is the octet before the block, and after it the
    /// block's last. Returns the octets written.
    /// </summary>
    public static int ToCrlf(ReadOnlySpan<byte> block, ref byte last, Span<byte> output)
    {
        var o = 0;
        var rest = block;
        while (true)
        {
            var lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                rest.CopyTo(output[o..]);
                o += rest.Length;
                if (!rest.IsEmpty)
                    last = rest[^1];
                return o;
            }
            rest[..lf].CopyTo(output[o..]);
            o += lf;
            if ((lf > 0 ? rest[lf - 1] : last) != (byte)'\r')
                output[o++] = (byte)'\r';
            output[o++] = (byte)'\n';
            last = (byte)'\n';
            rest = rest[(lf + 1)..];
        }
    }

    public byte[] ToArray(long start = 0, long count = long.MaxValue)
    {
        var w = new ArrayBufferWriter<byte>();
        CopyTo(w, start, count);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>Writes the part of chunk that falls in [start, end) of the output.</summary>
    private static void Emit(IBufferWriter<byte> w, ReadOnlySpan<byte> chunk, ref long outAt, long start, long end)
    {
        var a = Math.Max(0, start - outAt);
        var b = Math.Min(chunk.Length, end - outAt);
        if (b > a)
            ImapStrings.WriteLiteralOctets(w, chunk[(int)a..(int)b]);
        outAt += chunk.Length;
    }
}
