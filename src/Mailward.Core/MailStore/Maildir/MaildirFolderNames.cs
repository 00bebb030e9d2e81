// Folder names on disk (docs/mail-store.md "Inside a Maildir"): "A/B" is the directory ".A.B", each
// level written in modified UTF-7 as Courier-IMAP and Dovecot write them; a directory whose level
// is not valid modified UTF-7 is read as UTF-8 (Dovecot's UTF8 layout, older Mailward folders).
using System.Text;

namespace Mailward.Core.MailStore.Maildir;

internal static class MaildirFolderNames
{
    /// <summary>The longest directory name most file systems take (NAME_MAX).</summary>
    private const int MaxDirectoryBytes = 255;

    /// <summary>The folder name of a Maildir++ directory name (with its leading dot).</summary>
    public static string FromDisk(string directoryName) =>
        string.Join('/', directoryName[1..].Split('.').Select(l => ModifiedUtf7.TryDecode(l, out var name) ? name : l));

    /// <summary>The directory name Mailward writes for a folder: ".A.B", each level in modified UTF-7.</summary>
    public static string ToDisk(string folder) => "." + string.Join('.', folder.Split('/').Select(ModifiedUtf7.Encode));

    /// <summary>Whether the written directory name fits the file system.</summary>
    public static bool Fits(string folder) => Encoding.UTF8.GetByteCount(ToDisk(folder)) <= MaxDirectoryBytes;

    /// <summary>The Maildir++ directories of a Maildir (the ones with a cur/), by directory name.</summary>
    public static IEnumerable<string> Directories(string maildir) =>
        Directory.Exists(maildir)
            ? Directory.EnumerateDirectories(maildir, ".*")
                .Select(Path.GetFileName)
                .Where(n => n is { Length: > 1 } && n != ".." && Directory.Exists(Path.Combine(maildir, n, "cur")))
                .Select(n => n!)
            : [];

    /// <summary>
    /// The directory of a folder: its modified UTF-7 name when that exists, else any directory that
    /// reads as the folder (a UTF-8 name), else the modified UTF-7 name (to be created).
    /// </summary>
    public static string Find(string maildir, string folder)
    {
        var written = Path.Combine(maildir, ToDisk(folder));
        if (Directory.Exists(written) || folder.All(c => c is >= ' ' and <= '~' and not '&'))
            return written; // a plain ASCII name has one form only
        var found = Directories(maildir).FirstOrDefault(d => FromDisk(d) == folder);
        return found is null ? written : Path.Combine(maildir, found);
    }
}
