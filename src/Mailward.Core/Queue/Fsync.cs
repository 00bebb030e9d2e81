// fsync for directories, which .NET cannot open as streams: after a rename or a new file, the
// directory entry itself must reach the disk before anyone is told the file is safe.
using System.Runtime.InteropServices;

namespace Mailward.Core.Queue;

public static partial class Fsync
{
    private const int ReadOnly = 0;        // O_RDONLY
    private const int DirectoryFlag = 0x10000; // O_DIRECTORY on Linux

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncFd(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    public static void Directory(string path)
    {
        var fd = Open(path, ReadOnly | DirectoryFlag);
        if (fd < 0)
            throw new IOException($"cannot open directory {path} to fsync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (FsyncFd(fd) != 0)
                throw new IOException($"fsync of directory {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }
}
