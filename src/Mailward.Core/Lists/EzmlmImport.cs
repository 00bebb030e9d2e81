// `mailward list import DIR` (docs/lists.md, "Importing an ezmlm list"): an ezmlm-idx list
// directory onto a new list: its address (outlocal, outhost), its subscriber, moderator, allow and
// deny databases (SET/subscribers/*: records 'T' address NUL), its settings (flags or config's F:
// line, modpost, prefix, msgsize, text/trailer), its archive (archive/B/NN) and its message number,
// so the numbers continue. Digest subscribers are reported, not imported: digests are not built.
using System.Globalization;
using System.Text;

namespace Mailward.Core.Lists;

/// <summary>What an import did, for the command to print.</summary>
public sealed record EzmlmImported(string Address, int Subscribers, int Moderators, int Allow, int Deny, int Archived, long LastNumber,
    IReadOnlyList<string> DigestSubscribers, IReadOnlyList<string> Notes);

public static class EzmlmImport
{
    /// <summary>Reads <paramref name="dir"/> and makes the list (at <paramref name="address"/>, else outlocal@outhost).</summary>
    public static EzmlmImported Run(ListAdmin admin, string dir, string? address, ListOptions options)
    {
        if (!Directory.Exists(dir))
            throw new Accounts.AccountException(Accounts.AccountError.InvalidArgument, $"no such directory: {dir}");
        var notes = new List<string>();
        address ??= $"{Line(dir, "outlocal") ?? throw Missing(dir, "outlocal")}@{Line(dir, "outhost") ?? throw Missing(dir, "outhost")}";
        var flags = Flags(dir);
        var config = new ListConfig
        {
            Name = "",
            // ezmlm-make's letters: lower case on, upper case off; -m moderated posting, -u subscribers only (ezmlm-make(1)).
            Policy = flags.Contains('m', StringComparison.Ordinal) || File.Exists(Path.Combine(dir, "modpost")) ? PostingPolicy.Moderated
                : flags.Contains('u', StringComparison.Ordinal) ? PostingPolicy.Subscribers : PostingPolicy.Open,
            Prefix = Line(dir, "prefix") ?? "",
            Trailer = File.Exists(Path.Combine(dir, "text", "trailer")) ? File.ReadAllText(Path.Combine(dir, "text", "trailer")).TrimEnd('\n').Replace("\r", "", StringComparison.Ordinal) : "",
            MaxBytes = Line(dir, "msgsize") is { } size && long.TryParse(size.Split(':')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var max) && max <= int.MaxValue ? max : 0,
            Owner = Line(dir, "owner") is { } owner && owner.StartsWith('&') && owner.Contains('@', StringComparison.Ordinal) ? owner[1..] : "",
        };
        var folder = admin.Add(address, config);
        var subscribers = Database(dir, "");
        var moderators = Database(dir, "mod");
        var allow = Database(dir, "allow");
        var deny = Database(dir, "deny");
        var digest = Database(dir, "digest");
        // The number continues: num is "N:COUNT" (ezmlm-idx) or "N" (ezmlm 0.53).
        var last = Line(dir, "num") is { } num && long.TryParse(num.Split(':')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        var archived = 0;
        using (folder.Lock(options.LockWait))
        {
            folder.Change(MemberSet.Subscribers, subscribers, add: true, options.MaxMembers);
            folder.Change(MemberSet.Moderators, moderators, add: true, options.MaxMembers);
            folder.Change(MemberSet.Allow, allow, add: true, options.MaxMembers);
            folder.Change(MemberSet.Deny, deny, add: true, options.MaxMembers);
            foreach (var (number, path) in ArchiveFiles(dir))
            {
                ListAgent.WriteArchive(folder, number, "ezmlm", "", new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds(), File.ReadAllBytes(path));
                archived++;
                last = Math.Max(last, number);
            }
            if (last > 0)
                folder.WriteNumber(last);
        }
        if (digest.Count > 0)
            notes.Add($"{digest.Count} digest subscribers not imported: this version sends no digests (listed below)");
        if (Directory.Exists(Path.Combine(dir, "text")))
            notes.Add("text/: only the trailer is used; the list's help and confirmation texts are Mailward's own");
        return new EzmlmImported(folder.Address, subscribers.Count, moderators.Count, allow.Count, deny.Count, archived, last, digest, notes);
    }

    private static Accounts.AccountException Missing(string dir, string file) =>
        new(Accounts.AccountError.InvalidArgument, $"{Path.Combine(dir, file)} is missing: give the list's address with --address");

    /// <summary>The first line of DIR/NAME, trimmed; null when there is no such file.</summary>
    private static string? Line(string dir, string name)
    {
        var path = Path.Combine(dir, name);
        return File.Exists(path) ? File.ReadLines(path).FirstOrDefault()?.Trim() ?? "" : null;
    }

    /// <summary>ezmlm-make's option letters: the flags file (ezmlm-idx 7), else config's "F:-..." line (ezmlm-idx 5 and 6).</summary>
    private static string Flags(string dir)
    {
        if (Line(dir, "flags") is { } flags)
            return flags;
        var config = Path.Combine(dir, "config");
        return File.Exists(config) ? File.ReadLines(config).FirstOrDefault(l => l.StartsWith("F:", StringComparison.Ordinal))?[2..].TrimStart('-') ?? "" : "";
    }

    /// <summary>The addresses of SET/subscribers/* (the list's own at subscribers/*): records 'T' ADDRESS NUL, normalized, without repeats.</summary>
    private static List<string> Database(string dir, string set)
    {
        var folder = Path.Combine(dir, set, "subscribers");
        var addresses = new SortedSet<string>(StringComparer.Ordinal);
        if (!Directory.Exists(folder))
            return [];
        foreach (var file in Directory.EnumerateFiles(folder))
            foreach (var record in Encoding.UTF8.GetString(File.ReadAllBytes(file)).Split('\0'))
                if (record.Length > 1 && record[0] == 'T' && record.IndexOf('@', StringComparison.Ordinal) > 1)
                    addresses.Add(ListFolder.Normalize(record[1..]));
        return [.. addresses];
    }

    /// <summary>archive/B/NN: post B*100+NN (ezmlm's archive; index files and others skipped).</summary>
    private static IEnumerable<(long Number, string Path)> ArchiveFiles(string dir)
    {
        var archive = Path.Combine(dir, "archive");
        if (!Directory.Exists(archive))
            yield break;
        foreach (var b in Directory.EnumerateDirectories(archive))
        {
            if (!long.TryParse(Path.GetFileName(b), NumberStyles.None, CultureInfo.InvariantCulture, out var block))
                continue;
            foreach (var f in Directory.EnumerateFiles(b).Order(StringComparer.Ordinal))
                if (Path.GetFileName(f) is { Length: 2 } nn && int.TryParse(nn, NumberStyles.None, CultureInfo.InvariantCulture, out var i))
                    yield return (block * 100 + i, f);
        }
    }
}
