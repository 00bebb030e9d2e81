// Decides whether an alias line may name a Maildir or mbox path: inside the mail store always;
// elsewhere only under a prefix listed in Delivery:AllowedExternalPaths (empty: nowhere). Both the
// path as written and the path with its links resolved must qualify, so a link in a folder a local
// user controls cannot point the server's writes somewhere else.
using Mailward.Core.Posix;

namespace Mailward.Core.Delivery;

public static class ExternalPaths
{
    public static bool Allowed(string path, string mailStoreRoot, IReadOnlyList<string> allowedPrefixes)
    {
        string[] roots = [mailStoreRoot, .. allowedPrefixes];
        var full = Path.GetFullPath(path);
        var resolved = Resolve(full);
        return roots.Any(r => Under(full, r) || Under(full, Resolve(r))) &&
               roots.Any(r => Under(resolved, r) || Under(resolved, Resolve(r)));
    }

    /// <summary>The nearest existing folder above (or at) the path, links resolved, with the rest appended as written.</summary>
    private static string Resolve(string full)
    {
        var rest = new Stack<string>();
        var at = Path.TrimEndingDirectorySeparator(full);
        while (at.Length > 1)
        {
            if (Libc.RealPath(at) is { } real)
                return rest.Aggregate(real, Path.Combine);
            rest.Push(Path.GetFileName(at));
            at = Path.GetDirectoryName(at) ?? "/";
        }
        return full;
    }

    private static bool Under(string path, string root)
    {
        var r = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + "/";
        return (Path.TrimEndingDirectorySeparator(path) + "/").StartsWith(r, StringComparison.Ordinal);
    }
}
