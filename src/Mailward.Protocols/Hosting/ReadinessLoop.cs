// The IMAP listeners' readiness loop: one thread in epoll_wait for every connection whose read or write
// waits longer than its linger, that finishes the operation and resumes the session on the thread pool
// (docs/imap.md, "The IMAP listeners' hosting").
using System.Collections.Concurrent;
using Mailward.Core.Posix;

namespace Mailward.Protocols.Hosting;

/// <summary>What the loop tells when a watched socket is ready, or has an error or its end (on the loop's thread: no waiting there).</summary>
internal interface IReadinessTarget
{
    void OnReady();
}

/// <summary>
/// One epoll set, watched by one background thread for the process's life. Sockets are armed one-shot
/// for what their waiting operations need and armed again by them, so an event is never delivered
/// for a wait nobody has. A socket is known by a number that is never reused, not by its descriptor:
/// an event that comes after its connection ended finds nobody.
/// </summary>
internal sealed class ReadinessLoop
{
    private static readonly Lazy<ReadinessLoop> s_shared = new(() => new ReadinessLoop());

    private readonly int _epoll = Epoll.Create();
    private readonly ConcurrentDictionary<ulong, IReadinessTarget> _targets = new();
    private long _last;

    private ReadinessLoop()
    {
        new Thread(Run) { IsBackground = true, Name = "IMAP readiness" }.Start();
    }

    public static ReadinessLoop Shared => s_shared.Value;

    public ulong Register(IReadinessTarget target)
    {
        var id = (ulong)Interlocked.Increment(ref _last);
        _targets[id] = target;
        return id;
    }

    public void Forget(ulong id) => _targets.TryRemove(id, out _);

    /// <summary>Watches <paramref name="fd"/> for one event of <paramref name="events"/>; 0, or the errno.</summary>
    public int Arm(int fd, ulong id, bool add, uint events) => Epoll.Control(_epoll, fd, add, events | Epoll.RdHup | Epoll.OneShot, id);

    private void Run()
    {
        var buffer = Epoll.EventBuffer(256);
        while (true)
        {
            var n = Epoll.Wait(_epoll, buffer, -1);
            for (var i = 0; i < n; i++)
            {
                if (_targets.TryGetValue(Epoll.DataAt(buffer, i), out var target))
                    target.OnReady(); // each waiting operation is tried: one that finds nothing waits again
            }
        }
    }
}
