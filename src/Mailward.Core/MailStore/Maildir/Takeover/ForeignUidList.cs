// The UID list another IMAP server left in a Maildir folder (docs/mail-store.md "Takeover from
// Courier-IMAP and Dovecot"): Courier-IMAP's courierimapuiddb, Dovecot's dovecot-uidlist versions
// 1 and 3. Read only, never written; keyed, like ours, by the name up to ':'.
using System.Globalization;

namespace Mailward.Core.MailStore.Maildir.Takeover;

/// <summary>One message of a foreign list: its UID and what the list knew beside it.</summary>
public sealed record ForeignMessage(uint Uid, long? VirtualSize, string? Pop3Uidl);

public sealed class ForeignUidList
{
    public const string CourierFileName = "courierimapuiddb";
    public const string DovecotFileName = "dovecot-uidlist";

    public uint UidValidity { get; }
    public uint UidNext { get; private set; }

    /// <summary>True for dovecot-uidlist, false for courierimapuiddb: the keywords and POP3 UIDLs beside it differ.</summary>
    public bool FromDovecot { get; }

    /// <summary>Key (name up to ':') → the message's UID and fields.</summary>
    public Dictionary<string, ForeignMessage> Messages { get; } = new(StringComparer.Ordinal);

    private ForeignUidList(uint uidValidity, uint uidNext, bool fromDovecot)
    {
        UidValidity = uidValidity;
        UidNext = uidNext;
        FromDovecot = fromDovecot;
    }

    /// <summary>The list of the server that ran last in this folder (the later modified file); null when there is none that parses.</summary>
    public static ForeignUidList? Read(string folder)
    {
        var candidates = new[] { DovecotFileName, CourierFileName }
            .Select(n => new FileInfo(Path.Combine(folder, n)))
            .Where(f => f.Exists)
            .OrderByDescending(f => f.LastWriteTimeUtc);
        foreach (var file in candidates)
        {
            var text = ReadText(file.FullName);
            var list = text is null ? null : file.Name == DovecotFileName ? ParseDovecot(text) : ParseCourier(text);
            if (list is not null)
                return list;
        }
        return null;
    }

    internal static string? ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>courierimapuiddb: "1 UIDVALIDITY NEXTUID", then "UID NAME" a line.</summary>
    public static ForeignUidList? ParseCourier(string text) => ParseVersion1(text.Split('\n'), fromDovecot: false);

    /// <summary>dovecot-uidlist version 1 (Courier's shape) or 3 ("3 V.. N.. G..", then "UID [KEY VALUE ...] :NAME").</summary>
    public static ForeignUidList? ParseDovecot(string text)
    {
        var lines = text.Split('\n');
        if (lines[0].StartsWith("1 ", StringComparison.Ordinal))
            return ParseVersion1(lines, fromDovecot: true);
        if (!lines[0].StartsWith("3 ", StringComparison.Ordinal))
            return null;
        uint validity = 0, next = 0;
        foreach (var field in lines[0][2..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (field[0] == 'V' && !UInt(field[1..], out validity))
                return null;
            if (field[0] == 'N' && !UInt(field[1..], out next))
                return null;
        }
        if (validity == 0 || next == 0)
            return null;
        var list = new ForeignUidList(validity, next, fromDovecot: true);
        uint previous = 0;
        foreach (var raw in lines.Skip(1))
        {
            var line = raw.TrimEnd('\r');
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !UInt(line[..space], out var uid) || uid == 0 || uid == uint.MaxValue || uid <= previous)
                continue; // skipped: its message gets a new UID, which is safe
            long? vsize = null;
            string? uidl = null;
            var rest = line[(space + 1)..].TrimStart(' ');
            // Extension fields until one that starts with ':': the name follows it (Dovecot's reader does the same).
            while (rest.Length > 0 && rest[0] != ':')
            {
                var end = rest.IndexOf(' ', StringComparison.Ordinal);
                var field = end < 0 ? rest : rest[..end];
                if (field.Length > 1 && field[0] == 'W' && long.TryParse(field.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var w))
                    vsize = w;
                else if (field.Length > 1 && field[0] == 'P' && UidList.IsPop3Uidl(field[1..]))
                    uidl = field[1..];
                rest = end < 0 ? "" : rest[(end + 1)..].TrimStart(' ');
            }
            if (rest.Length < 2)
                continue;
            previous = uid;
            list.Add(rest[1..], new ForeignMessage(uid, vsize, uidl));
        }
        return list;
    }

    private static ForeignUidList? ParseVersion1(string[] lines, bool fromDovecot)
    {
        var header = lines[0].TrimEnd('\r').Split(' ');
        if (header.Length < 3 || header[0] != "1" || !UInt(header[1], out var validity) || !UInt(header[2], out var next) || validity == 0 || next == 0)
            return null;
        var list = new ForeignUidList(validity, next, fromDovecot);
        uint previous = 0;
        foreach (var raw in lines.Skip(1))
        {
            var line = raw.TrimEnd('\r');
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || !UInt(line[..space], out var uid) || uid == 0 || uid == uint.MaxValue || uid <= previous || space + 1 == line.Length)
                continue;
            previous = uid;
            list.Add(line[(space + 1)..], new ForeignMessage(uid, null, null));
        }
        return list;
    }

    /// <summary>A later line for one name wins (Dovecot appends); NEXTUID stays above every UID.</summary>
    private void Add(string name, ForeignMessage message)
    {
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        var key = colon < 0 ? name : name[..colon];
        if (key.Length == 0 || key.Contains('/', StringComparison.Ordinal))
            return;
        Messages[key] = message;
        if (message.Uid >= UidNext)
            UidNext = message.Uid + 1;
    }

    private static bool UInt(string s, out uint value) => uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
