// Linux's epoll, for the IMAP listeners' readiness loop (Mailward.Protocols/Hosting):
// .NET offers no way to wait for a socket's readiness without its own socket engine.
using System.Runtime.InteropServices;

namespace Mailward.Core.Posix;

public static unsafe partial class Epoll
{
    public const uint In = 0x1, Out = 0x4, RdHup = 0x2000, OneShot = 1u << 30;
    private const int CtlAdd = 1, CtlMod = 3, CloExec = 0x80000;

    // struct epoll_event is packed on x86_64 (12 octets, data at 4) and naturally aligned elsewhere
    // (16 octets, data at 8): include/uapi/linux/eventpoll.h.
    private static readonly bool Packed = RuntimeInformation.ProcessArchitecture == Architecture.X64;
    private static readonly int Stride = Packed ? 12 : 16;
    private static readonly int DataOffset = Packed ? 4 : 8;

    /// <summary>A new epoll instance (close-on-exec).</summary>
    public static int Create()
    {
        var fd = epoll_create1(CloExec);
        return fd >= 0 ? fd : throw Failed("epoll_create1");
    }

    /// <summary>Adds a descriptor (or arms it again, <paramref name="add"/> false) for the given events, with a number to know it by.</summary>
    public static int Control(int epfd, int fd, bool add, uint events, ulong data)
    {
        var e = stackalloc byte[16];
        *(uint*)e = events;
        *(ulong*)(e + DataOffset) = data;
        return epoll_ctl(epfd, add ? CtlAdd : CtlMod, fd, e) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>A buffer for <see cref="Wait"/> of room for <paramref name="count"/> events.</summary>
    public static byte[] EventBuffer(int count) => new byte[count * Stride];

    /// <summary>Waits for events (timeout in ms, -1 forever); their count, 0 after EINTR.</summary>
    public static int Wait(int epfd, byte[] buffer, int timeoutMs)
    {
        fixed (byte* b = buffer)
        {
            var n = epoll_wait(epfd, b, buffer.Length / Stride, timeoutMs);
            if (n >= 0)
                return n;
            var errno = Marshal.GetLastPInvokeError();
            return errno == Libc.EIntr ? 0 : throw Failed("epoll_wait", errno);
        }
    }

    /// <summary>The number event <paramref name="i"/> of a buffer <see cref="Wait"/> filled was armed with.</summary>
    public static ulong DataAt(byte[] buffer, int i)
    {
        fixed (byte* b = buffer)
            return *(ulong*)(b + i * Stride + DataOffset);
    }

    private static IOException Failed(string call, int? errno = null) =>
        new($"{call} failed: errno {errno ?? Marshal.GetLastPInvokeError()}");

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, byte* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, byte* events, int maxevents, int timeout);
}
