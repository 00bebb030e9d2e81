// How long a session that has answered waits on its own thread for the client's next command before
// it gives the thread back (Imap:ReplyLingerMicroseconds, Imap:MaxLingeringSessions).
using System.Net.Sockets;

namespace Mailward.Protocols.Hosting;

/// <summary>
/// A client that sends its next command within the linger (a webmail on the same host, a client on a
/// LAN, one that pipelines little) is read by the thread that waited for it, woken once by the kernel;
/// after the linger the wait goes to the readiness loop, whose wake-up is handed on to a pool thread:
/// two sleeping threads woken in turn, which on a small virtual machine cost more than the command.
/// A lingering session holds a pool thread, so at most <see cref="Max"/> linger at once, and none while
/// the pool has work queued.
/// </summary>
public sealed class ReplyLinger(int microseconds, int max)
{
    private int _now;
    private long _caught, _handedOn;

    /// <summary>No lingering: every wait goes to the loop.</summary>
    public static ReplyLinger None { get; } = new(0, 0);

    public int Microseconds { get; } = microseconds;

    public int Max { get; } = max;

    /// <summary>Reads whose input came within the linger (for tests and the benchmark's notes).</summary>
    public long Caught => Interlocked.Read(ref _caught);

    /// <summary>Reads handed to the readiness loop: nothing came within the linger, or none was free.</summary>
    public long HandedOn => Interlocked.Read(ref _handedOn);

    internal void CountHandedOn() => Interlocked.Increment(ref _handedOn);

    /// <summary>Waits for the socket to become readable, within the linger if a place is free; true when it did.</summary>
    public bool Wait(Socket socket)
    {
        if (Microseconds <= 0)
            return false;
        try
        {
            if (Interlocked.Increment(ref _now) > Max || ThreadPool.PendingWorkItemCount > 0)
                return false;
            if (!socket.Poll(Microseconds, SelectMode.SelectRead))
                return false;
            Interlocked.Increment(ref _caught);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true; // the read that follows finds out what happened
        }
        finally
        {
            Interlocked.Decrement(ref _now);
        }
    }
}
