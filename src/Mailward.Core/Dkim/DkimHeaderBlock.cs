// Reads a message's header block (up to the empty line, RFC 5322 §2.1) with a bound, so verifying
// or signing never holds more than Dkim:MaxHeaderBytes of a message in memory; the body stays in
// its file and is streamed through MimeKit's hashing.
using System.Buffers;
using System.Text;

namespace Mailward.Core.Dkim;

public static class DkimHeaderBlock
{
    /// <summary>
    /// The header block's bytes (its final CRLF and the empty line included) read from the current
    /// position of <paramref name="message"/>, or null when it is longer than <paramref name="max"/>.
    /// A message that is all header (no empty line) is read whole within the bound.
    /// </summary>
    public static async ValueTask<byte[]?> ReadAsync(Stream message, int max, CancellationToken ct)
    {
        var buffer = new byte[Math.Min(max + 4, 64 * 1024)];
        using var block = new MemoryStream();
        int n;
        while ((n = await message.ReadAsync(buffer, ct)) > 0)
        {
            var start = (int)Math.Max(0, block.Length - 3);
            block.Write(buffer, 0, n);
            var end = block.GetBuffer().AsSpan(start, (int)block.Length - start).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var length = start + end + 4;
                return length > max ? null : block.GetBuffer().AsSpan(0, length).ToArray();
            }
            if (block.Length > max)
                return null;
        }
        return block.ToArray();
    }

    // Vectorized; Contains(.., OrdinalIgnoreCase) is a char-by-char loop under invariant globalization
    // (3.3 µs against 0.2 µs for a 1.3 KB header, every message the door verifies).
    private static readonly SearchValues<string> SignatureField = SearchValues.Create(["\nDKIM-Signature:"], StringComparison.OrdinalIgnoreCase);

    /// <summary>True when a field of the block is named DKIM-Signature (any case), so a message without one costs no MIME parse.</summary>
    public static bool HasSignature(ReadOnlySpan<byte> header)
    {
        var text = Encoding.Latin1.GetString(header);
        return text.StartsWith("DKIM-Signature:", StringComparison.OrdinalIgnoreCase)
            || text.AsSpan().IndexOfAny(SignatureField) >= 0;
    }
}
