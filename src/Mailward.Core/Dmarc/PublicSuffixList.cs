// The Public Suffix List (publicsuffix.org; Debian's `publicsuffix` package) and the organizational
// domain DMARC aligns on (RFC 7489 §3.2): the public suffix a name ends in, plus one label. Rules are
// kept in their ASCII (A-label) form, because names in mail headers and DNS are compared that way.
using System.Globalization;

namespace Mailward.Core.Dmarc;

public sealed class PublicSuffixList
{
    /// <summary>Where Debian's publicsuffix package puts the list.</summary>
    public const string DebianPath = "/usr/share/publicsuffix/public_suffix_list.dat";

    private readonly HashSet<string> _rules = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _wildcards = new(StringComparer.OrdinalIgnoreCase); // "*.ck" kept as "ck"
    private readonly HashSet<string> _exceptions = new(StringComparer.OrdinalIgnoreCase); // "!www.ck" kept as "www.ck"

    public int Count => _rules.Count + _wildcards.Count + _exceptions.Count;

    public static PublicSuffixList Load(string path) => Parse(File.ReadLines(path));

    /// <summary>The list's text format: one rule per line, `//` comments, `*.` wildcards and `!` exceptions.</summary>
    public static PublicSuffixList Parse(IEnumerable<string> lines)
    {
        var list = new PublicSuffixList();
        var idn = new IdnMapping();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal))
                continue;
            var rule = line.Split((char[]?)null, 2)[0]; // a rule ends at the first white space
            string ascii;
            try
            {
                ascii = idn.GetAscii(rule.TrimStart('!').Replace("*.", "", StringComparison.Ordinal)).ToLowerInvariant();
            }
            catch (ArgumentException)
            {
                continue; // not a name this list format allows; nothing to match against
            }
            if (rule.StartsWith('!'))
                list._exceptions.Add(ascii);
            else if (rule.StartsWith("*.", StringComparison.Ordinal))
                list._wildcards.Add(ascii);
            else
                list._rules.Add(ascii);
        }
        return list;
    }

    /// <summary>
    /// The organizational domain of <paramref name="domain"/> (lower case, no final dot): its public
    /// suffix plus the next label; a name that is itself a public suffix is its own.
    /// </summary>
    public string OrganizationalDomain(string domain)
    {
        var name = domain.TrimEnd('.').ToLowerInvariant();
        var labels = name.Split('.');
        var suffixLabels = SuffixLabels(labels);
        return suffixLabels >= labels.Length ? name : string.Join('.', labels[^(suffixLabels + 1)..]);
    }

    /// <summary>How many trailing labels form the public suffix (the publicsuffix.org algorithm; "*" when no rule matches).</summary>
    private int SuffixLabels(string[] labels)
    {
        var best = 1; // the implicit rule "*": the top-level label
        for (var n = labels.Length; n >= 1; n--)
        {
            var tail = string.Join('.', labels[^n..]);
            if (_exceptions.Contains(tail))
                return n - 1; // an exception wins over every other rule and drops its leftmost label
            if (n > best && _rules.Contains(tail))
                best = n;
            if (n < labels.Length && n + 1 > best && _wildcards.Contains(tail))
                best = n + 1;
        }
        return best;
    }
}
