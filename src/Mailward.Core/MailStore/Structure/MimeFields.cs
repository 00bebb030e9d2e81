// Content-Type and Content-Disposition values (RFC 2045 §5.1, RFC 2183 §2): a type and its
// parameters, with RFC 2231 continuations joined and charsets decoded to UTF-8 octets (RFC 9051
// §7.5.2 asks servers to do so before returning a parameter), at most MaxParameters of them.
using System.Globalization;
using System.Text;

namespace Mailward.Core.MailStore.Structure;

internal static class MimeFields
{
    /// <summary>"type/subtype; params": null type when the value does not start with a token; "" subtype when it has none.</summary>
    public static (string? Type, string? Subtype, List<MimeParameter> Parameters) ContentType(string raw, int maxParameters)
    {
        var t = new HeaderTokens(HeaderTokens.Unfold(raw));
        t.SkipCfws();
        var type = t.ReadToken();
        t.SkipCfws();
        string? subtype = null;
        if (t.Peek == '/')
        {
            t.Skip();
            t.SkipCfws();
            subtype = t.ReadToken();
        }
        var parameters = Parameters(ref t, maxParameters);
        return type.Length > 0 ? (type, subtype ?? "", parameters) : (null, null, parameters);
    }

    /// <summary>"disposition; params".</summary>
    public static (string? Disposition, List<MimeParameter> Parameters) Disposition(string raw, int maxParameters)
    {
        var t = new HeaderTokens(HeaderTokens.Unfold(raw));
        t.SkipCfws();
        var value = t.ReadToken();
        var parameters = Parameters(ref t, maxParameters);
        return (value.Length > 0 ? value : null, parameters);
    }

    /// <summary>Content-Language (RFC 3282): a comma-separated list of tags.</summary>
    public static List<string> Languages(string raw)
    {
        var t = new HeaderTokens(HeaderTokens.Unfold(raw));
        var tags = new List<string>();
        while (!t.AtEnd && tags.Count < 64)
        {
            t.SkipCfws();
            var tag = t.ReadToken();
            if (tag.Length > 0)
                tags.Add(tag);
            t.SkipCfws();
            if (t.AtEnd)
                break;
            t.Skip(); // ',' or anything a token cannot hold
        }
        return tags;
    }

    private static List<MimeParameter> Parameters(ref HeaderTokens t, int max)
    {
        var raw = new List<MimeParameter>();
        while (!t.AtEnd && raw.Count < max)
        {
            t.SkipCfws();
            if (t.Peek != ';')
            {
                t.Skip(); // junk between parameters: skipped up to the next ';'
                continue;
            }
            t.Skip();
            t.SkipCfws();
            var name = t.ReadToken();
            t.SkipCfws();
            if (name.Length == 0 || t.Peek != '=')
                continue;
            t.Skip();
            if (t.ReadValue() is { } value)
                raw.Add(new MimeParameter(name, value));
        }
        return Rfc2231(raw);
    }

    /// <summary>RFC 2231 §3, §4: name*0, name*1*, ... joined in order; name* and extended sections decoded.</summary>
    private static List<MimeParameter> Rfc2231(List<MimeParameter> raw)
    {
        if (!raw.Exists(p => p.Name.Contains('*', StringComparison.Ordinal)))
            return raw; // the common case: as read
        var result = new List<MimeParameter>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, _) in raw)
        {
            var star = name.IndexOf('*', StringComparison.Ordinal);
            var baseName = star < 0 ? name : name[..star];
            if (!seen.Add(baseName))
                continue;
            var sections = raw.Select(p => (Section: Section(p.Name, baseName), p.Value))
                .Where(p => p.Section.Index >= 0).OrderBy(p => p.Section.Index).ToList();
            if (sections.Count == 0)
                continue;
            var bytes = new List<byte>();
            string? charset = null;
            var expect = sections[0].Section.Index;
            foreach (var (section, value) in sections)
            {
                if (section.Index != expect++)
                    break; // a gap: what follows it is not joined (RFC 2231 §3)
                var text = value;
                if (section.Extended && section.Index <= 0)
                {
                    var parts = value.Split('\'', 3);
                    if (parts.Length == 3)
                        (charset, text) = (parts[0], parts[2]);
                }
                if (section.Extended)
                    PercentDecode(text, bytes);
                else
                    bytes.AddRange(text.Select(c => (byte)c));
            }
            result.Add(new MimeParameter(baseName, Decode([.. bytes], charset)));
        }
        return result;
    }

    /// <summary>Index -1: not a section of baseName; 0 for "name" and "name*" alike (-0 is the plain name).</summary>
    private static (int Index, bool Extended) Section(string name, string baseName)
    {
        if (!name.StartsWith(baseName, StringComparison.OrdinalIgnoreCase))
            return (-1, false);
        var rest = name[baseName.Length..];
        if (rest.Length == 0)
            return (0, false);
        if (rest == "*")
            return (0, true);
        if (rest[0] != '*')
            return (-1, false);
        var extended = rest.EndsWith('*');
        var digits = rest[1..(extended ? rest.Length - 1 : rest.Length)];
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n < 1000 && (digits == "0" || digits[0] != '0')
            ? (n, extended) : (-1, false);
    }

    private static void PercentDecode(string text, List<byte> into)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '%' && i + 2 < text.Length
                && byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                into.Add(b);
                i += 2;
            }
            else
                into.Add((byte)text[i]);
        }
    }

    /// <summary>The value as UTF-8 octets (one char per octet) when its charset is known; else its octets as they are.</summary>
    private static string Decode(byte[] bytes, string? charset)
    {
        Encoding? encoding = null;
        if (charset is { Length: > 0 } && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("us-ascii", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                encoding = Encoding.GetEncoding(charset); // UTF-8, ASCII, Latin-1 and the code pages registered in this process
            }
            catch (NotSupportedException)
            {
            }
            catch (ArgumentException)
            {
            }
        }
        var utf8 = encoding is null ? bytes : Encoding.UTF8.GetBytes(encoding.GetString(bytes));
        return Encoding.Latin1.GetString(utf8);
    }
}
