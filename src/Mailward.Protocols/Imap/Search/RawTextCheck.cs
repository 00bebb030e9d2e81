// A quick "not there" for BODY and TEXT before the full scan (MessageTextSearch): in a message that
// is all ASCII, has no RFC 2047 encoded word, no RFC 2231 extended parameter, no base64 or
// quoted-printable content and names only charsets that read ASCII bytes as themselves, every
// character the full scan searches is a byte of the file as stored (the scan unfolds header lines
// and reads tabs as spaces, which only changes whitespace). So an ASCII needle without whitespace
// whose bytes do not occur, ASCII case-insensitively, cannot be found by the scan either. Only that
// answer is taken from here; a needle whose bytes do occur, or any other message, is scanned in full.
using System.Buffers;
using System.Text;

namespace Mailward.Protocols.Imap.Search;

internal static class RawTextCheck
{
    /// <summary>Messages up to this size are read whole for the check (and scanned from memory after it).</summary>
    public const int MaxBytes = 256 * 1024;

    private static readonly SearchValues<string> Encodings = SearchValues.Create(
        ["=?", "*=", "base64", "quoted-printable"], StringComparison.OrdinalIgnoreCase);

    // Not IndexOf(.., OrdinalIgnoreCase): with invariant globalization that is a char-by-char loop, and
    // it was a fifth of a SEARCH TEXT's CPU over 100,000 messages; this search is vectorized.
    private static readonly SearchValues<string> Charset = SearchValues.Create(["charset"], StringComparison.OrdinalIgnoreCase);

    private static readonly SearchValues<char> CharsetEnd = SearchValues.Create(" \t\r\n\";");

    /// <summary>Charsets that decode every ASCII byte as the same character.</summary>
    private static readonly string[] AsciiCharsets = ["us-ascii", "ascii", "utf-8", "utf8", "latin1"];

    /// <summary>True when the needle can be decided here: ASCII, folded (upper case), no whitespace.</summary>
    public static bool Decidable(TextNeedle needle)
    {
        if (needle.Folded.Length == 0)
            return false;
        foreach (var c in needle.Folded)
            if (c >= 0x80 || c is ' ' or '\t' or '\r' or '\n')
                return false;
        return true;
    }

    /// <summary>True when the message is one whose searched text is its bytes (see the file's head).</summary>
    public static bool Plain(ReadOnlySpan<byte> message)
    {
        if (!Ascii.IsValid(message))
            return false;
        // All ASCII: a char per byte, so the SearchValues search (vectorized) runs on the widened text.
        var text = ArrayPool<char>.Shared.Rent(message.Length);
        try
        {
            var chars = text.AsSpan(0, message.Length);
            Encoding.ASCII.GetChars(message, chars);
            if (chars.IndexOfAny(Encodings) >= 0)
                return false;
            ReadOnlySpan<char> rest = chars;
            int at;
            while ((at = rest.IndexOfAny(Charset)) >= 0)
            {
                rest = rest[(at + 7)..];
                if (!KnownCharset(rest))
                    return false;
            }
            return true;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(text);
        }
    }

    /// <summary>The parameter after "charset": "=" and a charset that reads ASCII as itself.</summary>
    private static bool KnownCharset(ReadOnlySpan<char> after)
    {
        after = after.TrimStart(" \t");
        if (after.Length == 0 || after[0] != '=')
            return false;
        after = after[1..].TrimStart(" \t\"");
        var end = after.IndexOfAny(CharsetEnd);
        var name = end < 0 ? after : after[..end];
        foreach (var known in AsciiCharsets)
            if (name.Equals(known, StringComparison.OrdinalIgnoreCase))
                return true;
        // iso-8859-N and windows-125N keep ASCII where it is.
        return name.StartsWith("iso-8859-", StringComparison.OrdinalIgnoreCase) && name.Length is 10 or 11
            || name.StartsWith("windows-125", StringComparison.OrdinalIgnoreCase) && name.Length == 12;
    }

    /// <summary>Whether the folded (upper-case ASCII) needle's bytes occur in the message, case-insensitively.</summary>
    public static bool Occurs(ReadOnlySpan<byte> message, string folded)
    {
        Span<byte> needle = stackalloc byte[Math.Min(folded.Length, 512)];
        if (folded.Length > needle.Length)
            return true; // not decided here: the full scan answers
        for (var i = 0; i < folded.Length; i++)
            needle[i] = (byte)folded[i];
        var first = needle[0];
        var lower = char.IsAsciiLetterUpper((char)first) ? (byte)(first | 0x20) : first;
        var from = 0;
        while (from <= message.Length - needle.Length)
        {
            var rest = message[from..];
            var hit = first == lower ? rest.IndexOf(first) : rest.IndexOfAny(first, lower);
            if (hit < 0 || from + hit > message.Length - needle.Length)
                return false;
            if (Ascii.EqualsIgnoreCase(message.Slice(from + hit, needle.Length), needle))
                return true;
            from += hit + 1;
        }
        return false;
    }
}
