// Where domains and users live on disk. Folders are spread over a tree so that no folder holds
// more than MailStore:MaxDirectoryEntries entries however many users a domain has (vpopmail's
// .dir-control, done differently; docs/mail-store.md). Paths are decided once, from a per-domain
// slot counter, and stored with the account, so the tree never has to be rebalanced.
namespace Mailward.Core.MailStore;

public sealed class MailStoreLayout(string root, int maxDirectoryEntries = 100)
{
    /// <summary>Subfolders per tree node; the rest of a node's entries hold users (or domains).</summary>
    public const int Fanout = 10;

    /// <summary>Subfolder names start with '+', which no user name or domain name may begin with.</summary>
    public const char SubfolderPrefix = '+';

    public string Root { get; } = root;
    public int EntriesPerNode { get; } = maxDirectoryEntries - Fanout;

    /// <summary>The relative folder of the node that holds slot <paramref name="slot"/>: "" for the top, then "+3/+0" and so on.</summary>
    public string NodePath(long slot)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        var node = slot / EntriesPerNode;
        var parts = new Stack<string>();
        // Node k's children are k*Fanout+1 .. k*Fanout+Fanout: a breadth-first tree, so depth grows
        // only with log10 of the number of users.
        while (node > 0)
        {
            parts.Push($"{SubfolderPrefix}{(node - 1) % Fanout}");
            node = (node - 1) / Fanout;
        }
        return string.Join('/', parts);
    }

    /// <summary>A domain's folder relative to the root, from the domains' slot counter.</summary>
    public string DomainDirectory(string domain, long slot) => Combine(NodePath(slot), domain);

    /// <summary>A user's folder relative to the root (or absolute under an absolute domain folder).</summary>
    public static string UserDirectory(string domainDirectory, string local, string nodePath) =>
        Combine(Combine(domainDirectory, nodePath), local);

    public string UserDirectory(string domainDirectory, string local, long slot) => UserDirectory(domainDirectory, local, NodePath(slot));

    /// <summary>The absolute path of a stored folder (stored paths are relative to the root unless absolute).</summary>
    public string Resolve(string storedPath) => Path.IsPathRooted(storedPath) ? storedPath : Path.Combine(Root, storedPath);

    public static string MaildirOf(string userFolder) => Path.Combine(userFolder, "Maildir");

    private static string Combine(string a, string b) => a.Length == 0 ? b : b.Length == 0 ? a : $"{a}/{b}";
}
