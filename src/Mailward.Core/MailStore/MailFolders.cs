// Creates and removes the folders of the mail store: a user's folder with its Maildir (cur, new,
// tmp; mode 0700, owned by the service user that runs Mailward) and whole domain folders.
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore;

public static class MailFolders
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates <paramref name="userFolder"/>/Maildir/{cur,new,tmp}; fails if the user folder already exists.</summary>
    public static void CreateUserFolder(string userFolder)
    {
        CreatePrivate(Path.GetDirectoryName(userFolder)!);
        CreateExclusive(userFolder);
        var maildir = MailStoreLayout.MaildirOf(userFolder);
        CreatePrivate(maildir);
        foreach (var sub in new[] { "cur", "new", "tmp" })
            CreatePrivate(Path.Combine(maildir, sub));
    }

    /// <summary>Creates a domain folder (and the tree nodes above it); fails if it already exists.</summary>
    public static void CreateDomainFolder(string domainFolder)
    {
        CreatePrivate(Path.GetDirectoryName(domainFolder)!);
        CreateExclusive(domainFolder);
    }

    /// <summary>Removes a folder and everything in it; missing is fine (the removal may be a retry).</summary>
    public static void Remove(string folder)
    {
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
    }

    // Creates missing parents with the same private mode.
    private static void CreatePrivate(string path) => Directory.CreateDirectory(path, Private);

    // One mkdir(2) that fails when the name exists: of two adds of one name at once, exactly one
    // makes the folder (a check, then Directory.CreateDirectory, would let both think they had).
    private static void CreateExclusive(string path)
    {
        var errno = Libc.Mkdir(path, Private);
        if (errno == Libc.EExist)
            throw new IOException($"folder already exists: {path}");
        if (errno != 0)
            throw new IOException($"cannot create {path}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
    }
}
