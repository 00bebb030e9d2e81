// The start-up check of file modes, as `postfix check` does: the data folder holds password hashes
// (accounts.db), the queue and the TLS key, so nothing in it may be open to group or others (a
// world-readable queue/lock let any local user block the start with a shared lock). What Mailward
// created is narrowed to 0700/0600 and reported (the data folder itself may be 0711, for the
// submission socket); what the admin supplied is only reported.
using Mailward.Core.Posix;

namespace Mailward.Core.Configuration;

public static class DataFolderModes
{
    public const UnixFileMode PrivateFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupOrOthers = (UnixFileMode)0b000_111_111;

    /// <summary>
    /// What the data folder may give group and others: passing through (0711) to the submission socket
    /// in public/, never listing it (docs/pickup-format.md); everything in it stays owner-only.
    /// </summary>
    public const UnixFileMode TraverseOnly = UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>Checks (and narrows where Mailward made it) every sensitive path; returns one line per finding.</summary>
    public static IReadOnlyList<string> Check(MailwardSettings settings)
    {
        var findings = new List<string>();
        var data = settings.DataPath;
        Narrow(data, findings, TraverseOnly);
        foreach (var name in new[] { DataFolder.SettingsFileName, "accounts.db", "accounts.db-wal", "accounts.db-shm", "accounts.db-journal" })
            Narrow(Path.Combine(data, name), findings);
        foreach (var folder in new[] { "queue", "tls", "run", "log", "dkim" })
        {
            var path = Path.Combine(data, folder);
            Narrow(path, findings);
            if (Directory.Exists(path) && new DirectoryInfo(path).LinkTarget is null)
                foreach (var entry in Directory.EnumerateFileSystemEntries(path))
                    Narrow(entry, findings);
        }
        var store = settings.MailStorePath;
        if (store == Path.Combine(data, "domains"))
            Narrow(store, findings);
        else
            Report(store, findings);
        if (settings.TlsKeyFile.Length > 0)
            Report(settings.TlsKeyFile, findings);
        return findings;
    }

    /// <summary>A path Mailward made: group and others lose every bit but <paramref name="allowed"/> (links are never followed).</summary>
    private static void Narrow(string path, List<string> findings, UnixFileMode allowed = 0)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (!info.Exists && info.LinkTarget is null)
            return;
        if (info.LinkTarget is not null)
        {
            findings.Add($"{path} is a symbolic link; left as it is");
            return;
        }
        var mode = info.UnixFileMode;
        if ((mode & GroupOrOthers & ~allowed) == 0)
            return;
        var narrowed = mode & ~(GroupOrOthers & ~allowed);
        try
        {
            info.UnixFileMode = narrowed;
            findings.Add($"{path} had mode {Octal(mode)}, open to group or others; changed to {Octal(narrowed)}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            findings.Add($"{path} has mode {Octal(mode)}, open to group or others, and could not be changed: {e.Message}");
        }
    }

    /// <summary>A path the admin chose: reported, not changed.</summary>
    private static void Report(string path, List<string> findings)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            return;
        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.GroupWrite)) != 0 || (File.Exists(path) && (mode & GroupOrOthers) != 0))
            findings.Add($"{path} has mode {Octal(mode)}, open to group or others; Mailward did not create it and leaves it as it is");
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');

    /// <summary>The process's file creation mask for everything it makes: owner only (077).</summary>
    public static void RestrictUmask() => Libc.Umask(0b000_111_111);
}
