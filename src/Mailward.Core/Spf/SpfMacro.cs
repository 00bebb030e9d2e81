// SPF macros (RFC 7208 §7): "%{" letter [digits] ["r"] [delimiters] "}", "%%", "%_" and "%-" in a
// macro-string. The letters are s l o d i p h v, and c r t in exp= text only (§7.2); an upper-case
// letter is URL-escaped after expansion (§7.3). Transformers split the value at the delimiters
// (default "."), reverse it for "r", keep the rightmost N parts and join them with "." (§7.3).
using System.Text;

namespace Mailward.Core.Spf;

/// <summary>The values the macro letters stand for in one check (§7.2).</summary>
/// <param name="Sender">s: the sender (local-part@domain, "postmaster" for a missing local part).</param>
/// <param name="Domain">d: the domain whose record is being evaluated.</param>
/// <param name="Ip">i: dotted IPv4, or IPv6 as 32 dot-separated nibbles.</param>
/// <param name="ClientText">c: the client address as people write it (exp= only).</param>
/// <param name="IsV6">v: "ip6", else "in-addr".</param>
/// <param name="Receiver">r: this host's name (exp= only).</param>
/// <param name="Timestamp">t: seconds since 1970 (exp= only).</param>
internal sealed record SpfMacroValues(string Sender, string Domain, string Ip, string ClientText, bool IsV6, string Helo, string Receiver, long Timestamp)
{
    public string LocalPart => Sender[..Sender.LastIndexOf('@')];
    public string SenderDomain => Sender[(Sender.LastIndexOf('@') + 1)..];
}

internal static class SpfMacro
{
    private const string Delimiters = ".-+,/_=";

    /// <summary>Checks macro-string syntax (§7.1); throws <see cref="SpfPermErrorException"/>.</summary>
    public static void Validate(string text, bool inExplanation, string term)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%')
            {
                i = Macro(text, i, inExplanation, term, out _, out _, out _, out _);
                continue;
            }
            // macro-literal = %x21-24 / %x26-7E; exp text also allows spaces (§6.2: it is a macro-string of a TXT record).
            if (c is < '!' or > '~' && !(inExplanation && c == ' '))
                throw new SpfPermErrorException($"bad character in macro-string: {term}");
        }
    }

    /// <summary>Expands a macro-string; <paramref name="ptr"/> computes %{p} when one is used.</summary>
    public static async ValueTask<string> ExpandAsync(string text, SpfMacroValues v, bool inExplanation, Func<ValueTask<string>> ptr)
    {
        var sb = new StringBuilder(text.Length + 32);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '%')
            {
                sb.Append(text[i]);
                continue;
            }
            i = Macro(text, i, inExplanation, text, out var letter, out var digits, out var reverse, out var delimiters);
            switch (letter)
            {
                case '%':
                    sb.Append('%');
                    continue;
                case '_':
                    sb.Append(' ');
                    continue;
                case '-':
                    sb.Append("%20");
                    continue;
            }
            var value = char.ToLowerInvariant(letter) switch
            {
                's' => v.Sender,
                'l' => v.LocalPart,
                'o' => v.SenderDomain,
                'd' => v.Domain,
                'i' => v.Ip,
                'p' => await ptr(),
                'v' => v.IsV6 ? "ip6" : "in-addr",
                'h' => v.Helo,
                'c' => v.ClientText,
                'r' => v.Receiver,
                _ => v.Timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            if (digits is not null || reverse || delimiters.Length > 0)
                value = Transform(value, digits, reverse, delimiters.Length > 0 ? delimiters : ".");
            sb.Append(char.IsUpper(letter) ? Uri.EscapeDataString(value) : value);
        }
        return sb.ToString();
    }

    /// <summary>§7.3: split at the delimiters, reverse for "r", keep the rightmost <paramref name="keep"/>, join with ".".</summary>
    private static string Transform(string value, int? keep, bool reverse, string delimiters)
    {
        var parts = value.Split(delimiters.ToCharArray());
        if (reverse)
            Array.Reverse(parts);
        if (keep is { } n && n < parts.Length)
            parts = parts[^n..];
        return string.Join('.', parts);
    }

    /// <summary>Reads the macro at <paramref name="at"/> (a '%'); returns the index of its last character.</summary>
    private static int Macro(string text, int at, bool inExplanation, string term, out char letter, out int? digits, out bool reverse, out string delimiters)
    {
        digits = null;
        reverse = false;
        delimiters = "";
        if (at + 1 >= text.Length)
            throw new SpfPermErrorException($"'%' at the end: {term}");
        letter = text[at + 1];
        if (letter is '%' or '_' or '-')
            return at + 1;
        if (letter != '{')
            throw new SpfPermErrorException($"bad macro after '%': {term}");
        var close = text.IndexOf('}', at + 2);
        if (close < 0 || close == at + 2)
            throw new SpfPermErrorException($"unterminated macro: {term}");
        letter = text[at + 2];
        var lower = char.ToLowerInvariant(letter);
        if (!"slodiphvcrt".Contains(lower, StringComparison.Ordinal))
            throw new SpfPermErrorException($"unknown macro letter '{letter}': {term}");
        if (lower is 'c' or 'r' or 't' && !inExplanation)
            throw new SpfPermErrorException($"%{{{letter}}} is allowed in exp= text only: {term}"); // §7.2
        var i = at + 3;
        var d = i;
        while (i < close && char.IsAsciiDigit(text[i]))
            i++;
        if (i > d)
        {
            var n = i - d > 3 ? 0 : int.Parse(text.AsSpan(d, i - d), System.Globalization.CultureInfo.InvariantCulture);
            if (n == 0)
                throw new SpfPermErrorException($"macro digits must be 1 to 999: {term}"); // §7.3: nonzero
            digits = n;
        }
        if (i < close && text[i] is 'r' or 'R')
        {
            reverse = true;
            i++;
        }
        var delimiterStart = i;
        while (i < close && Delimiters.Contains(text[i], StringComparison.Ordinal))
            i++;
        if (i != close)
            throw new SpfPermErrorException($"bad macro transformer: {term}");
        delimiters = text[delimiterStart..close];
        return close;
    }
}
