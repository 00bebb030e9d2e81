// Courier's POP3 UIDLs (docs/mail-store.md "Takeover", POP3 UIDLs): courierpop3dsizelist in the
// INBOX, "/VERSION NEXTUID UIDVALIDITY" then "NAME SIZE N:UIDV[:UTF8]" a line. Courier's POP3
// reported "UID<n>-<uidv>" (or "UID<n>" when uidv is 0); those are what POP3 clients remember.
using System.Globalization;

namespace Mailward.Core.MailStore.Maildir.Takeover;

public static class CourierPop3SizeList
{
    public const string FileName = "courierpop3dsizelist";

    /// <summary>Key (name up to ':') → the UIDL Courier's POP3 reported; empty when there is no list in a version it wrote (2 or 3).</summary>
    public static Dictionary<string, string> Read(string maildir) =>
        ForeignUidList.ReadText(Path.Combine(maildir, FileName)) is { } text ? Parse(text) : new(StringComparer.Ordinal);

    public static Dictionary<string, string> Parse(string text)
    {
        var uidls = new Dictionary<string, string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        var header = lines[0].TrimEnd('\r').Split(' ');
        if (header.Length < 2 || header[0] is not ("/2" or "/3"))
            return uidls;
        foreach (var raw in lines.Skip(1))
        {
            // From the right, as Courier reads it: the last field is N:UIDV[:UTF8], before it the size, the rest is the name.
            var line = raw.TrimEnd('\r');
            var last = line.LastIndexOf(' ');
            var sizeAt = last > 0 ? line.LastIndexOf(' ', last - 1) : -1;
            if (sizeAt <= 0)
                continue;
            var numbers = line[(last + 1)..].Split(':');
            if (numbers.Length < 2 || !ulong.TryParse(numbers[0], NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                || !ulong.TryParse(numbers[1], NumberStyles.None, CultureInfo.InvariantCulture, out var uidv) || n == 0)
                continue; // n = 0 never comes from a list Courier wrote in these versions
            var name = line[..sizeAt];
            var colon = name.IndexOf(':', StringComparison.Ordinal);
            var key = colon < 0 ? name : name[..colon];
            if (key.Length > 0)
                uidls[key] = uidv != 0 ? $"UID{n}-{uidv}" : $"UID{n}";
        }
        return uidls;
    }
}
