// The CRLF sizes of foreign names (no ,W=) counted since their folder's UID list was last written:
// shared by every session of the process, written into the UID list at its next rewrite
// (docs/mail-store.md "The UID list"), so a listing never reads message files for a size.
using System.Collections.Concurrent;

namespace Mailward.Core.MailStore.Maildir;

internal static class CountedSizes
{
    // Folder path → key → size. Emptied for a folder when its UID list carries the sizes; losing it
    // (a restart) costs a second count, never a wrong size: a key's file content never changes.
    private static readonly ConcurrentDictionary<string, ConcurrentDictionary<string, long>> Folders = new(StringComparer.Ordinal);

    public static long? Find(string folder, string key) =>
        Folders.TryGetValue(folder, out var sizes) && sizes.TryGetValue(key, out var size) ? size : null;

    /// <summary>The sizes kept for a folder (key → size), or null for none.</summary>
    public static IReadOnlyDictionary<string, long>? Of(string folder) =>
        Folders.TryGetValue(folder, out var sizes) && !sizes.IsEmpty ? sizes : null;

    public static void Keep(string folder, string key, long size) =>
        Folders.GetOrAdd(folder, _ => new(StringComparer.Ordinal))[key] = size;

    /// <summary>Fills the sizes this process counted into a list about to be written.</summary>
    public static void WriteInto(string folder, UidList list)
    {
        if (!Folders.TryGetValue(folder, out var sizes))
            return;
        foreach (var (key, size) in sizes)
            if (list.Entries.TryGetValue(key, out var e) && e.VirtualSize is null)
                list.Entries[key] = (e.Uid, size);
    }

    /// <summary>After the list is written: the sizes it now carries (and those of keys no longer in it) are no longer kept here.</summary>
    public static void Forget(string folder, UidList list)
    {
        if (!Folders.TryGetValue(folder, out var sizes))
            return;
        foreach (var key in sizes.Keys)
            if (!list.Entries.TryGetValue(key, out var e) || e.VirtualSize is not null)
                sizes.TryRemove(key, out _);
        if (sizes.IsEmpty)
            Folders.TryRemove(folder, out _);
    }
}
