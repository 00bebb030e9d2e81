// How SEARCH, SORT and THREAD compare text: decoded (RFC 2047 words in headers, transfer encodings
// and charsets in bodies), then case-folded. The fold is Unicode's simple upper-case mapping, the
// "titlecase" step of i;unicode-casemap (RFC 5051 §2) without its NFKD step: the server runs with
// invariant globalization, where .NET has no normalization tables, so precomposed "é" and "e" plus
// a combining accent do not match each other (mail nearly always carries the precomposed form).
using System.Text;
using MimeKit.Utils;

namespace Mailward.Protocols.Imap.Search;

public static class SearchText
{
    static SearchText() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance); // windows-125x, koi8-r, iso-2022-jp...

    /// <summary>The folded form in which search strings and message text are compared.</summary>
    public static string Fold(string s)
    {
        foreach (var c in s)
        {
            if (c >= 0x80)
                return s.ToUpperInvariant();
        }
        return string.Create(s.Length, s, static (span, src) =>
        {
            for (var i = 0; i < src.Length; i++)
                span[i] = src[i] is >= 'a' and <= 'z' ? (char)(src[i] - 32) : src[i];
        });
    }

    /// <summary>Folds a span in place when it is ASCII; false when it is not (then use <see cref="Fold(string)"/>).</summary>
    internal static bool TryFoldAscii(Span<char> span)
    {
        for (var i = 0; i < span.Length; i++)
        {
            var c = span[i];
            if (c >= 0x80)
                return false;
            if (c is >= 'a' and <= 'z')
                span[i] = (char)(c - 32);
        }
        return true;
    }

    /// <summary>A raw header field body made readable: unfolded, tabs as spaces, RFC 2047 words decoded.</summary>
    public static string DecodeHeader(string raw)
    {
        var unfolded = Unfold(raw);
        if (!unfolded.Contains("=?", StringComparison.Ordinal))
            return unfolded;
        return Rfc2047.DecodeText(Encoding.UTF8.GetBytes(unfolded));
    }

    /// <summary>Removes the CRLF (or LF) of folded lines and turns tabs into spaces (RFC 5322 §2.2.3).</summary>
    public static string Unfold(string raw)
    {
        if (raw.AsSpan().IndexOfAny('\r', '\n', '\t') < 0)
            return raw;
        var sb = new StringBuilder(raw.Length);
        foreach (var c in raw)
        {
            if (c is '\r' or '\n')
                continue;
            sb.Append(c == '\t' ? ' ' : c);
        }
        return sb.ToString();
    }

    /// <summary>The encoding a charset name stands for; UTF-8 for none, an unknown one or UTF-7 (ASCII-compatible, and what 8-bit mail mostly is).</summary>
    internal static Encoding EncodingFor(string? charset)
    {
        if (string.IsNullOrEmpty(charset))
            return Encoding.UTF8;
        try
        {
            return Encoding.GetEncoding(charset.Trim());
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            return Encoding.UTF8; // NotSupportedException: UTF-7, which .NET refuses to decode
        }
    }
}
