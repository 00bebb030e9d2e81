// The subscriptions other servers left in a Maildir (docs/mail-store.md "Subscriptions"), read once
// into mailward-subscriptions: Dovecot's subscriptions (version 1, or 2 with a tab between levels
// and \x01 escapes; also Mailward's own file before it was renamed) and Courier-IMAP's
// courierimapsubscribed ("INBOX.Name" a line). Read only.
using System.Text;

namespace Mailward.Core.MailStore.Maildir.Takeover;

public static class ForeignSubscriptions
{
    public const string DovecotFileName = "subscriptions";
    public const string CourierFileName = "courierimapsubscribed";

    /// <summary>The subscribed folder names as the store shows them, Dovecot's first, then Courier's; invalid names left out.</summary>
    public static List<string> Read(string maildir, Func<string, bool> isValidName)
    {
        var names = new List<string>();
        if (ForeignUidList.ReadText(Path.Combine(maildir, DovecotFileName)) is { } dovecot)
            names.AddRange(dovecot.StartsWith("V\t2\n\n", StringComparison.Ordinal) ? Version2(dovecot[5..]) : Version1(dovecot));
        if (ForeignUidList.ReadText(Path.Combine(maildir, CourierFileName)) is { } courier)
            names.AddRange(Version1(courier));
        return names.Where(n => n == "INBOX" || isValidName(n)).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>One name a line: "INBOX" stays, a leading "INBOX." goes, levels split at '/' when there is one, else at '.'.</summary>
    private static IEnumerable<string> Version1(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
                continue;
            if (line.Equals("INBOX", StringComparison.OrdinalIgnoreCase))
            {
                yield return "INBOX";
                continue;
            }
            if (line.StartsWith("INBOX.", StringComparison.OrdinalIgnoreCase))
                line = line[6..];
            var levels = line.Split(line.Contains('/', StringComparison.Ordinal) ? '/' : '.');
            yield return string.Join('/', levels.Select(Level));
        }
    }

    /// <summary>One name a line, a tab between levels, \x01 escaping the next character (0 NUL, 1 \x01, t tab, r CR, n LF).</summary>
    private static IEnumerable<string> Version2(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            if (raw.Length == 0)
                continue;
            var levels = raw.Split('\t').Select(Unescape).ToList();
            if (levels.Count == 1 && levels[0].Equals("INBOX", StringComparison.OrdinalIgnoreCase))
                yield return "INBOX";
            else
                yield return string.Join('/', levels.Select(Level));
        }
    }

    private static string Unescape(string level)
    {
        if (!level.Contains('\x01', StringComparison.Ordinal))
            return level;
        var sb = new StringBuilder(level.Length);
        for (var i = 0; i < level.Length; i++)
        {
            if (level[i] != '\x01' || i + 1 == level.Length)
            {
                sb.Append(level[i]);
                continue;
            }
            sb.Append(level[++i] switch
            {
                '0' => '\0',
                '1' => '\x01',
                't' => '\t',
                'r' => '\r',
                'n' => '\n',
                var other => other,
            });
        }
        return sb.ToString();
    }

    /// <summary>A level as a folder directory's level is read: modified UTF-7 when valid, else UTF-8 as it is.</summary>
    private static string Level(string level) => ModifiedUtf7.TryDecode(level, out var name) ? name : level;
}
