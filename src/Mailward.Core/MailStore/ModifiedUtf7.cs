// Modified UTF-7 (RFC 3501 §5.1.3): how IMAP4rev1 clients that are not UTF-8 capable name mailboxes,
// and how Courier-IMAP and Dovecot name Maildir++ folders on disk. Printable ASCII stands for
// itself except '&' ("&-"); every other run of characters is UTF-16 in base64 with ',' for '/',
// no padding, between '&' and '-'. Pure: the mail store and the IMAP layer share it.
using System.Text;

namespace Mailward.Core.MailStore;

public static class ModifiedUtf7
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

    /// <summary>The modified UTF-7 form of a name. Throws ArgumentException on invalid UTF-16 (a lone surrogate).</summary>
    public static string Encode(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c is >= ' ' and <= '~')
            {
                sb.Append(c == '&' ? "&-" : c);
                i++;
                continue;
            }
            // One shift for the whole run of characters outside printable ASCII (§5.1.3: canonical form).
            var start = i;
            while (i < text.Length && text[i] is < ' ' or > '~')
            {
                if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    i += 2;
                else if (char.IsSurrogate(text[i]))
                    throw new ArgumentException($"not valid UTF-16 at {i}", nameof(text));
                else
                    i++;
            }
            sb.Append('&');
            int bits = 0, buffer = 0;
            foreach (var unit in text.AsSpan(start, i - start))
            {
                buffer = (buffer << 16) | unit;
                bits += 16;
                while (bits >= 6)
                {
                    bits -= 6;
                    sb.Append(Alphabet[(buffer >> bits) & 0x3f]);
                }
            }
            if (bits > 0)
                sb.Append(Alphabet[(buffer << (6 - bits)) & 0x3f]);
            sb.Append('-');
        }
        return sb.ToString();
    }

    /// <summary>The name this modified UTF-7 stands for. Throws FormatException unless it is valid and canonical.</summary>
    public static string Decode(string encoded) =>
        TryDecode(encoded, out var decoded) ? decoded : throw new FormatException($"not modified UTF-7: {encoded}");

    /// <summary>
    /// False unless the text is valid, canonical modified UTF-7: printable ASCII only; each '&amp;'
    /// ends with '-'; a shift holds whole UTF-16 units with zero fill bits, valid surrogate pairs, no
    /// printable ASCII (that stands for itself) and does not follow another shift directly.
    /// </summary>
    public static bool TryDecode(string encoded, out string decoded)
    {
        decoded = "";
        var sb = new StringBuilder(encoded.Length);
        var previousShiftEnd = -2; // no shift yet (-1 would match a shift at index 0)
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c is < ' ' or > '~')
                return false;
            if (c != '&')
            {
                sb.Append(c);
                continue;
            }
            var end = encoded.IndexOf('-', i + 1);
            if (end < 0)
                return false;
            if (end == i + 1)
            {
                sb.Append('&');
                i = end;
                continue;
            }
            if (previousShiftEnd == i - 1)
                return false; // two shifts in a row: one would do
            int bits = 0, buffer = 0;
            var units = new StringBuilder();
            for (var j = i + 1; j < end; j++)
            {
                var v = Alphabet.IndexOf(encoded[j], StringComparison.Ordinal);
                if (v < 0)
                    return false;
                buffer = ((buffer << 6) | v) & 0x3fffff;
                bits += 6;
                if (bits >= 16)
                {
                    bits -= 16;
                    units.Append((char)((buffer >> bits) & 0xffff));
                }
            }
            if (bits >= 6 || (buffer & ((1 << bits) - 1)) != 0)
                return false; // a partial unit, or fill bits that are not zero
            var text = units.ToString();
            for (var k = 0; k < text.Length; k++)
            {
                if (text[k] is >= ' ' and <= '~')
                    return false;
                if (char.IsHighSurrogate(text[k]) && k + 1 < text.Length && char.IsLowSurrogate(text[k + 1]))
                    k++;
                else if (char.IsSurrogate(text[k]))
                    return false;
            }
            sb.Append(text);
            previousShiftEnd = end;
            i = end;
        }
        decoded = sb.ToString();
        return true;
    }
}
