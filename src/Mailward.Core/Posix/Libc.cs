// The few POSIX calls (Linux, glibc) that .NET does not offer and that file safety needs: umask,
// open/openat without following the last link, linkat/unlinkat in an open folder, flock, statx
// (type, owner, link count of an open file; its struct has one layout on every architecture),
// realpath, a signal to a whole process group, pread without the lseek .NET adds, and an ignored
// signal made default again (SIGHUP under nohup).
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.Posix;

public static partial class Libc
{
    // asm-generic/fcntl.h values, which x86_64 uses too. Arm (64- and 32-bit) defines O_DIRECTORY and
    // O_NOFOLLOW its own way (arch/arm64/include/uapi/asm/fcntl.h: there the generic values mean
    // O_DIRECT and O_LARGEFILE, so a link would be followed): those two are chosen for the machine.
    public const int ORdOnly = 0, OWrOnly = 1, ORdWr = 2, OCreat = 0x40, OExcl = 0x80, ONoCtty = 0x100, ONonBlock = 0x800,
        OCloExec = 0x80000, OPath = 0x200000;
    private static readonly bool ArmFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm;
    public static readonly int ODirectory = ArmFlags ? 0x4000 : 0x10000;
    public static readonly int ONoFollow = ArmFlags ? 0x8000 : 0x20000;
    public const int EPerm = 1, ENoEnt = 2, EIntr = 4, EAgain = 11, EExist = 17, EInval = 22, EMLink = 31, ENoSys = 38, ELoop = 40, ENotSup = 95;
    public const int SigKill = 9, SigHup = 1;
    private const int AtEmptyPath = 0x1000, AtSymlinkNoFollow = 0x100, AtFdCwd = -100, LockEx = 2, LockNb = 4, StatxBasicStats = 0x7ff;
    private const int ENotDir = 20, RLimitNoFile = 7, FDupFdCloExec = 1030;
    private const int SIfMt = 0xF000, SIfReg = 0x8000, SIfDir = 0x4000;

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint UmaskNative(uint mask);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuidNative();

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FchownNative(int fd, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAtNative(int dirfd, string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkAtNative(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAtNative(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2Native(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UnlinkAtNative(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncNative(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatxNative(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void FreeNative(IntPtr p);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkdirNative(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static unsafe partial int GetRLimitNative(int resource, ulong* limit);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FcntlNative(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseNative(int fd);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillNative(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static unsafe partial int SigactionNative(int signal, byte* action, byte* old);

    /// <summary>
    /// Makes an ignored signal take its default action again; true when it was ignored. A process
    /// started under nohup inherits SIGHUP ignored, and .NET leaves an ignored signal ignored, so a
    /// handler registered for it would never run. The caller registers its handler right after.
    /// </summary>
    public static unsafe bool UnignoreSignal(int signal)
    {
        // struct sigaction begins with the handler on x86_64 and arm64 (glibc); 256 bytes hold it whole.
        var old = stackalloc byte[256];
        if (SigactionNative(signal, null, old) != 0 || *(nint*)old != 1) // 1: SIG_IGN
            return false;
        var action = stackalloc byte[256];
        new Span<byte>(action, 256).Clear(); // SIG_DFL, an empty mask, no flags
        return SigactionNative(signal, action, null) == 0;
    }

    [LibraryImport("libc", EntryPoint = "pread64", SetLastError = true)]
    private static unsafe partial nint PReadNative(int fd, byte* buffer, nuint count, long offset);

    /// <summary>
    /// pread(2), again after EINTR. RandomAccess.Read makes an lseek first on a handle it did not
    /// open itself (to learn whether the file can seek): a fourth system call for each message a
    /// FETCH reads, where open, read and close are enough.
    /// </summary>
    public static unsafe int PRead(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = PReadNative(Fd(file), p, (nuint)buffer.Length, offset);
                if (n >= 0)
                    return (int)n;
                var errno = Marshal.GetLastPInvokeError();
                if (errno != EIntr)
                    throw new IOException($"read: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }
    }

    /// <summary>mkdir(2): 0, or the errno (EEXIST when anything has the name: the caller made nothing).</summary>
    public static int Mkdir(string path, UnixFileMode mode) => MkdirNative(path, (uint)mode) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>Sets the process's file creation mask and returns the old one.</summary>
    public static uint Umask(uint mask) => UmaskNative(mask);

    /// <summary>The user this process acts as: the owner every file it writes to must have.</summary>
    public static uint EffectiveUserId => GetEuidNative();

    /// <summary>open(2); a failure becomes an IOException naming the path and errno.</summary>
    public static SafeFileHandle Open(string path, int flags, UnixFileMode mode = 0)
    {
        var fd = OpenRetrying(path, flags, (int)mode);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Error("open", path);
    }

    /// <summary>open(2) with O_CLOEXEC, again after a signal interrupts it; the descriptor or -1 (errno kept).</summary>
    private static int OpenRetrying(string path, int flags, int mode)
    {
        int fd;
        do
            fd = OpenNative(path, flags | OCloExec, mode);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EIntr);
        return fd;
    }

    /// <summary>
    /// Opens an absolute path one component at a time, each with O_NOFOLLOW: a link anywhere on
    /// the way (even one swapped in after a check) fails the open instead of being followed.
    /// </summary>
    public static SafeFileHandle OpenWithoutLinks(string path, int flags, UnixFileMode mode = 0)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (!path.StartsWith('/') || parts.Length == 0 || parts.Any(p => p is "." or ".."))
            throw new IOException($"open {path}: not an absolute path without . or .. parts");
        var dir = Open("/", ORdOnly | ODirectory);
        try
        {
            for (var i = 0; i < parts.Length - 1; i++)
            {
                var next = TryOpenAt(dir, parts[i], ORdOnly | ODirectory | ONoFollow, 0, out var errno)
                    ?? throw new IOException($"open {path}: {parts[i]} is a symbolic link or not a folder ({Marshal.GetPInvokeErrorMessage(errno)})");
                dir.Dispose();
                dir = next;
            }
            return TryOpenAt(dir, parts[^1], flags | ONoFollow, mode, out var e)
                ?? throw new IOException($"open {path}: {Marshal.GetPInvokeErrorMessage(e)}", e);
        }
        finally
        {
            dir.Dispose();
        }
    }

    /// <summary>openat(2) relative to an open folder; returns -1 with <paramref name="errno"/> set instead of throwing.</summary>
    public static SafeFileHandle? TryOpenAt(SafeFileHandle dir, string name, int flags, UnixFileMode mode, out int errno)
    {
        var fd = OpenAtNative(Fd(dir), name, flags | OCloExec, (int)mode);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : null;
    }

    public static int LinkAt(SafeFileHandle fromDir, string from, SafeFileHandle toDir, string to) =>
        LinkAtNative(Fd(fromDir), from, Fd(toDir), to, 0) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static void RenameAt(SafeFileHandle fromDir, string from, SafeFileHandle toDir, string to)
    {
        if (RenameAtNative(Fd(fromDir), from, Fd(toDir), to) != 0)
            throw Error("rename", from);
    }

    /// <summary>renameat2(2) with RENAME_NOREPLACE: never replaces an existing name (EEXIST); EINVAL where the file system cannot.</summary>
    public static int RenameNoReplace(SafeFileHandle fromDir, string from, SafeFileHandle toDir, string to) =>
        RenameAt2Native(Fd(fromDir), from, Fd(toDir), to, 1) == 0 ? 0 : Marshal.GetLastPInvokeError();

    public static void UnlinkAt(SafeFileHandle dir, string name)
    {
        if (UnlinkAtNative(Fd(dir), name, 0) != 0)
            throw Error("unlink", name);
    }

    public static void Fsync(SafeFileHandle handle)
    {
        if (FsyncNative(Fd(handle)) != 0)
            throw Error("fsync", "");
    }

    /// <summary>flock(LOCK_EX|LOCK_NB): false when another holds the lock.</summary>
    public static bool TryLockExclusive(SafeFileHandle handle)
    {
        if (FlockNative(Fd(handle), LockEx | LockNb) == 0)
            return true;
        var errno = Marshal.GetLastPInvokeError();
        return errno is EAgain or EIntr ? false : throw Error("flock", "");
    }

    /// <summary>What statx(2) says about an open file: type, owner, link count, permission bits.</summary>
    public static unsafe FileFacts Facts(SafeFileHandle handle)
    {
        var buffer = stackalloc byte[256]; // sizeof(struct statx)
        if (StatxNative(Fd(handle), "", AtEmptyPath, StatxBasicStats, buffer) != 0)
            throw Error("statx", "");
        var nlink = *(uint*)(buffer + 16);
        var uid = *(uint*)(buffer + 20);
        var mode = *(ushort*)(buffer + 28);
        return new FileFacts((mode & SIfMt) == SIfReg, (mode & SIfMt) == SIfDir, uid, nlink, (UnixFileMode)(mode & 0xFFF));
    }

    /// <summary>
    /// What any change to a file or folder moves (statx(2) of the path, not following a last link):
    /// inode, size, and the change and modification times in nanoseconds; null when it is not there.
    /// </summary>
    public static ChangeStamp? Stamp(string path) => StampAt(AtFdCwd, path);

    /// <summary>The same as <see cref="Stamp(string)"/> for a name in an open folder (statx(2) relative to it).</summary>
    public static ChangeStamp? Stamp(SafeFileHandle folder, string name) => StampAt(Fd(folder), name);

    private static unsafe ChangeStamp? StampAt(int dirFd, string name)
    {
        var buffer = stackalloc byte[256];
        if (StatxNative(dirFd, name, AtSymlinkNoFollow, StatxBasicStats, buffer) != 0)
            return Marshal.GetLastPInvokeError() is ENoEnt or ENotDir ? null : throw Error("statx", name);
        return StampOf(buffer);
    }

    /// <summary>An O_PATH descriptor of a folder, for calls relative to it; null when it is missing or not a folder.</summary>
    public static SafeFileHandle? TryOpenFolderPath(string path)
    {
        var fd = OpenRetrying(path, OPath | ODirectory, 0);
        if (fd >= 0)
            return new SafeFileHandle(fd, ownsHandle: true);
        return Marshal.GetLastPInvokeError() is ENoEnt or ENotDir ? null : throw Error("open", path);
    }

    /// <summary>The same as <see cref="Stamp(string)"/> for an open file (statx(2) of the descriptor).</summary>
    public static unsafe ChangeStamp Stamp(SafeFileHandle handle)
    {
        var buffer = stackalloc byte[256];
        if (StatxNative(Fd(handle), "", AtEmptyPath, StatxBasicStats, buffer) != 0)
            throw Error("statx", "");
        return StampOf(buffer);
    }

    private static unsafe ChangeStamp StampOf(byte* statx)
    {
        static long Nanoseconds(byte* t) => *(long*)t * 1_000_000_000 + *(uint*)(t + 8);
        return new ChangeStamp(*(ulong*)(statx + 32), *(long*)(statx + 40), Nanoseconds(statx + 96), Nanoseconds(statx + 112));
    }

    /// <summary>The path with every link and ".." resolved; null when it does not exist.</summary>
    public static string? RealPath(string path)
    {
        var p = RealPathNative(path, IntPtr.Zero);
        if (p == IntPtr.Zero)
            return null;
        try
        {
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            FreeNative(p);
        }
    }

    /// <summary>fchown(2): gives an open file to another user (root's pickup files to the server's user).</summary>
    public static void Fchown(SafeFileHandle handle, uint owner, uint group)
    {
        if (FchownNative(Fd(handle), owner, group) != 0)
            throw Error("fchown", "");
    }

    /// <summary>The process's soft limit of open descriptors (getrlimit RLIMIT_NOFILE); int.MaxValue when unlimited or unknown.</summary>
    public static unsafe int DescriptorLimit()
    {
        var limit = stackalloc ulong[2];
        return GetRLimitNative(RLimitNoFile, limit) == 0 && limit[0] < int.MaxValue ? (int)limit[0] : int.MaxValue;
    }

    /// <summary>
    /// The lowest descriptor number not in use (a duplicate of <paramref name="any"/> takes it and is
    /// closed at once): every lower number is open. int.MaxValue when none is left.
    /// </summary>
    public static int LowestFreeDescriptor(SafeHandle any)
    {
        var fd = FcntlNative((int)any.DangerousGetHandle(), FDupFdCloExec, 0);
        if (fd < 0)
            return int.MaxValue;
        _ = CloseNative(fd);
        return fd;
    }

    /// <summary>kill(-group, signal): every process of the group.</summary>
    public static void KillGroup(int group, int signal) => _ = KillNative(-group, signal);

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    private static IOException Error(string call, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} {path}: {Marshal.GetPInvokeErrorMessage(errno)}".Replace("  ", " ", StringComparison.Ordinal), errno);
    }
}

/// <summary>A file's identity and times as <see cref="Libc.Stamp"/> reads them (times in ns since 1970).</summary>
public readonly record struct ChangeStamp(ulong Inode, long Size, long ChangedNs, long ModifiedNs);

public sealed record FileFacts(bool IsRegularFile, bool IsDirectory, uint Owner, uint Links, UnixFileMode Mode);
