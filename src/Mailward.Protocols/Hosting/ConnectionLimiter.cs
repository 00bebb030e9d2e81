// Counts open connections of one listener, in all and per client address (tcpserver's -c and
// tcprules' per-IP limits), so one host cannot take every slot.
using System.Collections.Concurrent;
using System.Net;

namespace Mailward.Protocols.Hosting;

public sealed class ConnectionLimiter(int maxTotal, int maxPerClient)
{
    private readonly ConcurrentDictionary<IPAddress, int> _perClient = new();
    private int _total;

    public int Open => Volatile.Read(ref _total);

    /// <summary>Takes a slot; null when granted, otherwise why not.</summary>
    public string? TryEnter(IPAddress client)
    {
        if (Interlocked.Increment(ref _total) > maxTotal)
        {
            Interlocked.Decrement(ref _total);
            return "too many connections";
        }
        if (_perClient.AddOrUpdate(client, 1, (_, n) => n + 1) > maxPerClient)
        {
            Leave(client);
            return "too many connections from this address";
        }
        return null;
    }

    public void Leave(IPAddress client)
    {
        Interlocked.Decrement(ref _total);
        // Remove the entry when it reaches zero so the table does not grow with every address seen.
        while (_perClient.TryGetValue(client, out var n))
        {
            if (n <= 1 ? _perClient.TryRemove(new KeyValuePair<IPAddress, int>(client, n)) : _perClient.TryUpdate(client, n - 1, n))
                break;
        }
    }
}
