// Linux's inotify(7) and statfs(2), for the listing cache's watched folders (Maildir/FolderWatch.cs):
// .NET's FileSystemWatcher reads its events on a thread of its own, so a sync could not know that
// every event queued before it began has been seen.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.Posix;

public static unsafe partial class Inotify
{
    // include/uapi/linux/inotify.h
    public const uint Modify = 0x2, Attrib = 0x4, MovedFrom = 0x40, MovedTo = 0x80, Create = 0x100, Delete = 0x200,
        DeleteSelf = 0x400, MoveSelf = 0x800, Overflow = 0x4000, Ignored = 0x8000, OnlyDir = 0x01000000, DontFollow = 0x02000000;
    private const int NonBlock = 0x800, CloExec = 0x80000;

    /// <summary>The size of struct inotify_event before its name.</summary>
    public const int EventHeader = 16;

    /// <summary>A new non-blocking, close-on-exec instance; null when the kernel refuses one (max_user_instances).</summary>
    public static SafeFileHandle? TryCreate()
    {
        if (!OperatingSystem.IsLinux())
            return null;
        var fd = inotify_init1(NonBlock | CloExec);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : null;
    }

    /// <summary>A watch of <paramref name="path"/> for <paramref name="mask"/>; its number, or -1 when refused (max_user_watches, gone, not a folder).</summary>
    public static int TryAdd(SafeFileHandle instance, string path, uint mask) =>
        inotify_add_watch((int)instance.DangerousGetHandle(), path, mask) is var wd and >= 0 ? wd : -1;

    public static void Remove(SafeFileHandle instance, int wd) => _ = inotify_rm_watch((int)instance.DangerousGetHandle(), wd);

    /// <summary>Reads queued events into <paramref name="buffer"/>: their length in octets, 0 when none is queued.</summary>
    public static int Read(SafeFileHandle instance, byte[] buffer)
    {
        fixed (byte* b = buffer)
        {
            while (true)
            {
                var n = read((int)instance.DangerousGetHandle(), b, buffer.Length);
                if (n >= 0)
                    return (int)n;
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.EAgain)
                    return 0;
                if (errno != Libc.EIntr)
                    throw new IOException($"read of inotify events failed: errno {errno}");
            }
        }
    }

    /// <summary>The type (f_type, the file system's magic number) of the file system <paramref name="path"/> is on; null when statfs fails.</summary>
    public static long? FileSystemType(string path)
    {
        // struct statfs begins with f_type, a long on the 64-bit ABIs this runs on (120 octets in all on x86_64).
        var buffer = stackalloc byte[256];
        return statfs(path, buffer) == 0 ? *(long*)buffer : null;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int inotify_init1(int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int inotify_add_watch(int fd, string path, uint mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int inotify_rm_watch(int fd, int wd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statfs(string path, byte* buffer);
}
