// Counts the changes to the folders of kept listings as inotify reports them, so that a sync can
// know a folder unchanged without stamping it (docs/mail-store.md "Watched folders"). Not safe
// for concurrent use: the listing cache calls it under its lock.
using System.Runtime.InteropServices;
using Mailward.Core.Posix;
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.MailStore.Maildir;

internal sealed class FolderWatch
{
    private const uint Mask = Inotify.Modify | Inotify.Attrib | Inotify.MovedFrom | Inotify.MovedTo | Inotify.Create | Inotify.Delete
        | Inotify.DeleteSelf | Inotify.MoveSelf | Inotify.OnlyDir | Inotify.DontFollow;

    /// <summary>
    /// statfs(2) types whose every change the kernel sees (linux/magic.h): ext2/3/4, XFS, Btrfs, tmpfs,
    /// ZFS, F2FS, bcachefs, JFS, ReiserFS, overlayfs. NFS, CIFS/SMB, FUSE and cluster file systems are
    /// changed by other machines too, which send no event.
    /// </summary>
    private static readonly HashSet<long> LocalFileSystems =
        [0xEF53, 0x58465342, 0x9123683E, 0x01021994, 0x2FC12FC1, 0xF2F52010, 0xCA451A4E, 0x3153464A, 0x52654973, 0x794C7630];

    private const int MaxEvent = Inotify.EventHeader + 256; // a name is at most NAME_MAX (255) octets and a NUL

    private readonly SafeFileHandle _instance;
    private readonly Dictionary<int, Folder> _byWatch = [];
    private readonly byte[] _events = new byte[16 * 1024];

    private FolderWatch(SafeFileHandle instance) => _instance = instance;

    /// <summary>One watched folder: a count of the changes seen, and whether a watch of it ended.</summary>
    internal sealed class Folder(int[] watches)
    {
        public int[] Watches { get; } = watches;
        public long Changes { get; set; }
        public bool Lost { get; set; }
    }

    /// <summary>The watches held (three a folder).</summary>
    public int Count => _byWatch.Count;

    /// <summary>A watch instance; null where the kernel offers none.</summary>
    public static FolderWatch? TryCreate() => Inotify.TryCreate() is { } fd ? new FolderWatch(fd) : null;

    /// <summary>Watches a folder, its cur/ and new/; null on a file system other machines change, or when a watch is refused.</summary>
    public Folder? TryAdd(string path)
    {
        if (Inotify.FileSystemType(path) is not { } type || !LocalFileSystems.Contains(type))
            return null;
        var watches = new int[3];
        var n = 0;
        foreach (var sub in new[] { path, Path.Combine(path, "cur"), Path.Combine(path, "new") })
        {
            var wd = Inotify.TryAdd(_instance, sub, Mask);
            // The same number as a watch held already is another path to a watched folder: not this one's to share or end.
            if (wd < 0 || _byWatch.ContainsKey(wd) || watches.AsSpan(0, n).Contains(wd))
            {
                foreach (var w in watches.AsSpan(0, n))
                    Inotify.Remove(_instance, w);
                return null;
            }
            watches[n++] = wd;
        }
        var folder = new Folder(watches);
        foreach (var wd in watches)
            _byWatch[wd] = folder;
        return folder;
    }

    public void Remove(Folder folder)
    {
        foreach (var wd in folder.Watches)
            if (_byWatch.Remove(wd)) // not one the kernel ended already
                Inotify.Remove(_instance, wd);
        folder.Lost = true;
    }

    /// <summary>Counts every event queued so far: one read(2) when none is.</summary>
    public void Drain()
    {
        int length;
        while ((length = Inotify.Read(_instance, _events)) > 0)
        {
            for (var at = 0; at + Inotify.EventHeader <= length;)
            {
                var e = _events.AsSpan(at);
                var wd = MemoryMarshal.Read<int>(e);
                var mask = MemoryMarshal.Read<uint>(e[4..]);
                at += Inotify.EventHeader + (int)MemoryMarshal.Read<uint>(e[12..]);
                if ((mask & Inotify.Overflow) != 0)
                {
                    // Events were lost: any folder may have changed.
                    foreach (var f in _byWatch.Values)
                        f.Changes++;
                    continue;
                }
                if (!_byWatch.TryGetValue(wd, out var folder))
                    continue; // a watch removed here: its last events and its IN_IGNORED may still be queued
                folder.Changes++;
                if ((mask & Inotify.Ignored) != 0)
                {
                    // The kernel ended this watch (a folder deleted, a file system unmounted): the folder is no longer followed.
                    _byWatch.Remove(wd);
                    folder.Lost = true;
                }
            }
            if (length + MaxEvent <= _events.Length)
                return; // room was left for another event: the read took all that was queued
        }
    }
}
