// The content of a BINARY[section] (RFC 3516 §4.2, RFC 9051 §6.4.5 and §7.5.2): a leaf part's body
// with its Content-Transfer-Encoding removed, base64 and quoted-printable by MimeKit's decoders,
// 7bit, 8bit and binary as they stand (with CRLF line ends, as BODY sends them). It is read in
// blocks (BlockBytes of the stored file at a time), so no part is ever held whole: its decoded
// length is learnt by one pass (Measure) and the octets sent by another (Open).
// A section that is not a leaf (the whole message, a multipart, a message/rfc822 part) is sent as
// BODY[section] sends it: RFC 9051 §6.4.5 defines BINARY for leaf parts only, and RFC 2045 §6.4
// allows composite types no encoding but the identity ones, so there is nothing to remove.
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Structure;
using MimeKit.Encodings;

namespace Mailward.Protocols.Imap.Fetch;

public sealed class BinaryContent
{
    /// <summary>Octets of the stored file read per step; decoding never holds more than about three times this.</summary>
    public const int BlockBytes = 16 * 1024;

    private enum Cte
    {
        Identity,
        Base64,
        QuotedPrintable,
    }

    private readonly MessageReader _message;
    private readonly Region _region;
    private readonly Cte _cte;

    private BinaryContent(MessageReader message, Region region, Cte cte) => (_message, _region, _cte) = (message, region, cte);

    /// <summary>True when the section's encoding is one this server removes (base64, quoted-printable).</summary>
    public bool Decodes => _cte != Cte.Identity;

    /// <summary>
    /// The content of BINARY[part] (empty: the whole message). A part the message does not have is
    /// empty, as BODY answers it. Null when the part's Content-Transfer-Encoding is not one of
    /// RFC 2045's (7bit, 8bit, binary, base64, quoted-printable): the caller answers [UNKNOWN-CTE]
    /// (RFC 3516 §4.3, RFC 9051 §7.1).
    /// </summary>
    public static BinaryContent? Open(MessageStructure s, MessageReader message, ReadOnlySpan<int> part)
    {
        if (part.Length == 0)
            return new(message, new Region(0, s.Size, s.VirtualSize, 0), Cte.Identity);
        var found = s.Find(part);
        if (found is null)
            return new(message, default, Cte.Identity);
        if (found.Kind != BodyPartKind.Leaf)
            return new(message, found.Body, Cte.Identity);
        return Encoding(found.Encoding) is { } cte ? new(message, found.Body, cte) : null;
    }

    /// <summary>True when BINARY can decode a part with this Content-Transfer-Encoding value (null or empty: none given, 7bit).</summary>
    public static bool Known(string? encoding) => Encoding(encoding) is not null;

    private static Cte? Encoding(string? value) => value?.Trim().ToUpperInvariant() switch
    {
        null or "" or "7BIT" or "8BIT" or "BINARY" => Cte.Identity,
        "BASE64" => Cte.Base64,
        "QUOTED-PRINTABLE" => Cte.QuotedPrintable,
        _ => null,
    };

    /// <summary>
    /// One pass over the content: its decoded length, and whether the octets from
    /// <paramref name="start"/> (count of them) hold a NUL, which only a literal8 may carry
    /// (RFC 9051 §4.3.1).
    /// </summary>
    public (long Length, bool NulInRange) Measure(long start = 0, long count = long.MaxValue)
    {
        using var blocks = Blocks();
        long length = 0;
        var nul = false;
        for (var block = blocks.Next(); !block.IsEmpty; block = blocks.Next())
        {
            var span = block.Span;
            var a = Math.Clamp(start - length, 0, span.Length);
            var b = Math.Clamp(start + Math.Min(count, long.MaxValue - start) - length, 0, span.Length);
            if (!nul && b > a && span[(int)a..(int)b].Contains((byte)0))
                nul = true;
            length += span.Length;
        }
        return (length, nul);
    }

    /// <summary>The decoded octets from the start, a block at a time.</summary>
    public DecodedBlocks Blocks() => new(new CrlfRegionReader(_message, _region), _cte switch
    {
        Cte.Base64 => new Base64Decoder(),
        Cte.QuotedPrintable => new QuotedPrintableDecoder(),
        _ => null,
    });

    /// <summary>A cursor over the decoded content; Next gives the next block (valid until the next call), empty at the end.</summary>
    public sealed class DecodedBlocks : IDisposable
    {
        private readonly CrlfRegionReader _source;
        private readonly IMimeDecoder? _decoder;
        private byte[]? _input = System.Buffers.ArrayPool<byte>.Shared.Rent(2 * BlockBytes);
        private byte[]? _output;

        internal DecodedBlocks(CrlfRegionReader source, IMimeDecoder? decoder)
        {
            (_source, _decoder) = (source, decoder);
            if (decoder is not null)
                _output = System.Buffers.ArrayPool<byte>.Shared.Rent(decoder.EstimateOutputLength(2 * BlockBytes));
        }

        public ReadOnlyMemory<byte> Next()
        {
            var input = _input ?? throw new ObjectDisposedException(nameof(DecodedBlocks));
            while (true)
            {
                var n = _source.Read(input.AsSpan(0, 2 * BlockBytes));
                if (n == 0)
                    return ReadOnlyMemory<byte>.Empty;
                if (_decoder is null || _output is not { } output)
                    return input.AsMemory(0, n);
                var decoded = _decoder.Decode(input, 0, n, output);
                if (decoded > 0)
                    return output.AsMemory(0, decoded); // a block of only line ends or padding decodes to nothing: read on
            }
        }

        public void Dispose()
        {
            if (_input is not null)
                System.Buffers.ArrayPool<byte>.Shared.Return(_input);
            if (_output is not null)
                System.Buffers.ArrayPool<byte>.Shared.Return(_output);
            _input = _output = null;
        }
    }
}

/// <summary>A region of the stored file read front to back with CRLF line ends (a bare LF goes out as CRLF), as BODY sends it.</summary>
internal sealed class CrlfRegionReader(MessageReader message, Region region)
{
    private long _position = region.Offset;
    private byte _previous = Previous(message, region);

    private static byte Previous(MessageReader message, Region region)
    {
        // An LF right after a CR outside the region is no bare LF (SectionContent does the same).
        Span<byte> one = stackalloc byte[1];
        return region.Offset > 0 && message.ReadAt(one, region.Offset - 1) == 1 ? one[0] : (byte)0;
    }

    /// <summary>Fills at most <paramref name="into"/>.Length octets (reads half as many from the file, each LF may gain a CR); 0 at the end.</summary>
    public int Read(Span<byte> into)
    {
        var want = (int)Math.Min(into.Length / 2, region.End - _position);
        if (want <= 0)
            return 0;
        var raw = into[(into.Length - want)..]; // read into the back half, expand into the front
        var n = message.ReadAt(raw[..want], _position);
        if (n <= 0)
            return 0;
        _position += n;
        var w = 0;
        for (var i = 0; i < n; i++)
        {
            var b = raw[i];
            if (b == (byte)'\n' && _previous != (byte)'\r')
                into[w++] = (byte)'\r';
            into[w++] = b;
            _previous = b;
        }
        return w;
    }
}
