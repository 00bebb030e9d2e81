// The keywords another IMAP server left in a Maildir folder (docs/mail-store.md "Takeover",
// Keywords): Dovecot's dovecot-keywords ("INDEX NAME" a line, index 0–25 = letters a–z in names)
// and Courier-IMAP's courierimapkeywords/ (:list plus per-message update files). Read only.
using System.Globalization;

namespace Mailward.Core.MailStore.Maildir.Takeover;

public static class ForeignKeywords
{
    public const string DovecotFileName = "dovecot-keywords";
    public const string CourierFolderName = "courierimapkeywords";
    private const int MaxKeywordBytes = 100;

    /// <summary>A keyword Mailward can keep: an IMAP atom (RFC 9051 §9 flag-keyword) of at most 100 bytes.</summary>
    public static bool IsKeyword(string name) =>
        name.Length is > 0 and <= MaxKeywordBytes && !name.AsSpan().ContainsAnyExceptInRange('!', '~') && name.IndexOfAny(['(', ')', '{', '%', '*', '"', '\\', ']']) < 0;

    /// <summary>dovecot-keywords: the name of each letter a–z (null where none).</summary>
    public static string?[] ReadDovecot(string folder)
    {
        var byLetter = new string?[26];
        var text = ForeignUidList.ReadText(Path.Combine(folder, DovecotFileName));
        foreach (var raw in text?.Split('\n') ?? [])
        {
            var line = raw.TrimEnd('\r');
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && int.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < 26
                && IsKeyword(line[(space + 1)..]) && byLetter[index] is null)
                byLetter[index] = line[(space + 1)..];
        }
        return byLetter;
    }

    /// <summary>
    /// courierimapkeywords/: key (name up to ':') → keyword names. ":list" holds the names, an empty
    /// line, then "KEY:I I ..." a line; a file named KEY, or else the ".N.KEY" with the highest N,
    /// holds a message's newer names one a line and replaces its ":list" entry.
    /// </summary>
    public static Dictionary<string, List<string>> ReadCourier(string folder)
    {
        var dir = Path.Combine(folder, CourierFolderName);
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (!Directory.Exists(dir))
            return result;
        var list = ForeignUidList.ReadText(Path.Combine(dir, ":list"));
        if (list is not null)
        {
            var lines = list.Split('\n');
            var names = new List<string>();
            var i = 0;
            for (; i < lines.Length && lines[i].TrimEnd('\r').Length > 0; i++)
                names.Add(lines[i].TrimEnd('\r'));
            for (i++; i < lines.Length; i++)
            {
                var line = lines[i].TrimEnd('\r');
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                    continue;
                var set = new List<string>();
                foreach (var n in line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    if (int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out var at) && at < names.Count && !set.Contains(names[at]))
                        set.Add(names[at]);
                result[line[..colon]] = set;
            }
        }
        // Update files: a plain KEY beats any .N.KEY; among .N.KEY the highest N wins.
        var updates = new Dictionary<string, (long N, string Path)>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(dir))
        {
            var name = Path.GetFileName(path);
            if (name == ":list")
                continue;
            string key;
            long n;
            if (name.StartsWith('.'))
            {
                var dot = name.IndexOf('.', 1);
                if (dot < 2 || !long.TryParse(name.AsSpan(1, dot - 1), NumberStyles.None, CultureInfo.InvariantCulture, out n) || dot + 1 == name.Length)
                    continue; // a temporary file of Courier's
                key = name[(dot + 1)..];
            }
            else
            {
                (key, n) = (name, long.MaxValue);
            }
            if (!updates.TryGetValue(key, out var seen) || n > seen.N)
                updates[key] = (n, path);
        }
        foreach (var (key, (_, path)) in updates)
            if (ForeignUidList.ReadText(path) is { } text)
                result[key] = text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        return result;
    }
}
