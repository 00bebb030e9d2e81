// One list's folder in the mail store (docs/lists.md, "Where a list lives"): DOMAINDIR/.lists/NAME
// with its config, secret, member sets, message number, archive and fan-out records. Reads check
// each file's frame; every change is made under the folder's flock (ListFolder.Lock).
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Posix;

namespace Mailward.Core.Lists;

public enum MemberSet
{
    Subscribers,
    Moderators,
    Allow,
    Deny,
    /// <summary>The digest subscribers: digests instead of each post (docs/lists.md, "Digests").</summary>
    Digest,
}

public sealed class ListFolder
{
    public const string ListsFolder = ".lists";
    private const string MembersMagic = "mailward-list-members 1";
    private const string SecretMagic = "mailward-list-secret 1";
    private const string NumMagic = "mailward-list-num 1";

    public ListFolder(string domainDirectory, string name, string domain)
    {
        Name = name;
        Domain = domain;
        Path = System.IO.Path.Combine(domainDirectory, ListsFolder, name);
    }

    /// <summary>The list's local part (lower case).</summary>
    public string Name { get; }
    public string Domain { get; }
    public string Path { get; }
    public string Address => $"{Name}@{Domain}";

    /// <summary>The folder of DOMAINDIR's lists.</summary>
    public static string ListsOf(string domainDirectory) => System.IO.Path.Combine(domainDirectory, ListsFolder);

    /// <summary>A list exists where its config file is.</summary>
    public bool Exists => File.Exists(PathOf("config"));

    public string PathOf(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>
    /// A list's local part: lower case letters, digits, '.', '_' and '='; no '-' (the command
    /// separator) and no leading dot (docs/lists.md). Null when fine, else the reason.
    /// </summary>
    public static string? CheckName(string name)
    {
        if (name.Length is 0 or > 64)
            return "a list name has 1 to 64 characters";
        if (name[0] == '.' || name[^1] == '.' || name.Contains("..", StringComparison.Ordinal))
            return "a list name neither begins nor ends with a dot, nor has two in a row";
        foreach (var c in name)
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '='))
                return $"a list name has only a-z, 0-9, '.', '_' and '=' (not '{c}'; '-' starts a command)";
        return null;
    }

    public ListConfig ReadConfig()
    {
        var lines = ListFile.ReadLines(PathOf("config"), ListConfig.Magic) ?? throw new ListDamagedException(PathOf("config"), "missing");
        try
        {
            return ListConfig.Parse(lines);
        }
        catch (FormatException e)
        {
            throw new ListDamagedException(PathOf("config"), e.Message);
        }
    }

    public void WriteConfig(ListConfig config) => ListFile.Write(PathOf("config"), ListConfig.Magic, config.Format());

    /// <summary>Makes the folder (0700), its config and a new secret. The caller holds no lock: nothing exists yet.</summary>
    public void Create(ListConfig config)
    {
        Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var guard = Lock(TimeSpan.FromSeconds(30));
        NewSecret();
        WriteConfig(config); // last: the config file is what makes it a list
    }

    public void NewSecret() =>
        ListFile.Write(PathOf("secret"), SecretMagic, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    public byte[] ReadSecret()
    {
        var lines = ListFile.ReadLines(PathOf("secret"), SecretMagic) ?? throw new ListDamagedException(PathOf("secret"), "missing");
        try
        {
            return lines.Count == 1 && lines[0].Length == 64 ? Convert.FromHexString(lines[0]) : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new ListDamagedException(PathOf("secret"), "not 64 hex digits");
        }
    }

    private static string SetFile(MemberSet set) => set.ToString().ToLowerInvariant();

    /// <summary>The addresses of a set, sorted; empty when it has no file.</summary>
    public IReadOnlyList<string> Members(MemberSet set)
    {
        var path = PathOf(SetFile(set));
        var lines = ListFile.ReadLines(path, MembersMagic);
        if (lines is null)
            return [];
        for (var i = 1; i < lines.Count; i++)
            if (string.CompareOrdinal(lines[i - 1], lines[i]) >= 0)
                throw new ListDamagedException(path, "addresses not sorted or repeated");
        return lines;
    }

    public bool IsMember(MemberSet set, string normalizedAddress)
    {
        List<string> members = [.. Members(set)];
        return members.BinarySearch(normalizedAddress, StringComparer.Ordinal) >= 0;
    }

    /// <summary>Adds or removes addresses (normalized); the number that changed. The caller holds the lock.</summary>
    public int Change(MemberSet set, IEnumerable<string> addresses, bool add, int maxMembers)
    {
        var members = new SortedSet<string>(Members(set), StringComparer.Ordinal);
        var changed = 0;
        foreach (var a in addresses)
            changed += (add ? members.Add(a) : members.Remove(a)) ? 1 : 0;
        if (changed == 0)
            return 0;
        if (members.Count > maxMembers)
            throw new InvalidOperationException($"{Address}: more than Lists:MaxMembers ({maxMembers}) addresses in {SetFile(set)}");
        ListFile.Write(PathOf(SetFile(set)), MembersMagic, string.Join("", members.Select(m => m + "\n")));
        return changed;
    }

    /// <summary>The last post number; 0 before the first.</summary>
    public long LastNumber()
    {
        var lines = ListFile.ReadLines(PathOf("num"), NumMagic);
        if (lines is null)
            return 0;
        return lines.Count == 1 && lines[0].StartsWith("last: ", StringComparison.Ordinal)
            && long.TryParse(lines[0].AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n : throw new ListDamagedException(PathOf("num"), "not \"last: N\"");
    }

    public void WriteNumber(long n) => ListFile.Write(PathOf("num"), NumMagic, $"last: {n.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>
    /// flock(2) on the folder's lock file, waited for up to <paramref name="wait"/> (the command line
    /// and the server change the same list). Disposing releases it.
    /// </summary>
    public IDisposable Lock(TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        var handle = Libc.Open(PathOf("lock"), Libc.OWrOnly | Libc.OCreat, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        while (!Libc.TryLockExclusive(handle))
        {
            if (DateTime.UtcNow > deadline)
            {
                handle.Dispose();
                throw new TimeoutException($"{Address}: the list is locked by another process (Lists:LockSeconds)");
            }
            Thread.Sleep(20);
        }
        return handle; // closing the descriptor releases the flock
    }

    /// <summary>Lower case, the domain as its A-label: how member sets hold addresses.</summary>
    public static string Normalize(string address) => Autoresponder.AutoreplyRules.Normalize(address.Trim());

    public static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);

    internal static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}
