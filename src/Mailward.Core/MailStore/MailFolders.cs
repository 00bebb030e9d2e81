// Creates and removes the folders of the mail store: a user's folder with its Maildir (cur, new,
// tmp; mode 0700, owned by the service user that runs Mailward) and whole domain folders.
namespace Mailward.Core.MailStore;

public static class MailFolders
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates <paramref name="userFolder"/>/Maildir/{cur,new,tmp}; fails if the user folder already exists.</summary>
    public static void CreateUserFolder(string userFolder)
    {
        if (Directory.Exists(userFolder) || File.Exists(userFolder))
            throw new IOException($"folder already exists: {userFolder}");
        CreatePrivate(Path.GetDirectoryName(userFolder)!);
        CreatePrivate(userFolder);
        var maildir = MailStoreLayout.MaildirOf(userFolder);
        CreatePrivate(maildir);
        foreach (var sub in new[] { "cur", "new", "tmp" })
            CreatePrivate(Path.Combine(maildir, sub));
    }

    /// <summary>Creates a domain folder (and the tree nodes above it); fails if it already exists.</summary>
    public static void CreateDomainFolder(string domainFolder)
    {
        if (Directory.Exists(domainFolder) || File.Exists(domainFolder))
            throw new IOException($"folder already exists: {domainFolder}");
        CreatePrivate(Path.GetDirectoryName(domainFolder)!);
        CreatePrivate(domainFolder);
    }

    /// <summary>Removes a folder and everything in it; missing is fine (the removal may be a retry).</summary>
    public static void Remove(string folder)
    {
        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
    }

    // Creates missing parents with the same private mode.
    private static void CreatePrivate(string path) => Directory.CreateDirectory(path, Private);
}
