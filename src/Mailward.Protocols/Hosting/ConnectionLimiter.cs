// Counts open connections of one listener, in all and per client address (tcpserver's -c and
// tcprules' per-IP limits), so one host cannot take every slot. IPv6 clients count by /64
// (ClientGroup; Smtp:ClientIpv6PrefixLength for SMTP): a host holds a whole /64 and could otherwise
// use a fresh address per connection.
using System.Collections.Concurrent;
using System.Net;
using Mailward.Core.Policy;

namespace Mailward.Protocols.Hosting;

public sealed class ConnectionLimiter(int maxTotal, int maxPerClient, int ipv6Prefix = 64)
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
        if (_perClient.AddOrUpdate(ClientGroup.Of(client, ipv6Prefix), 1, (_, n) => n + 1) > maxPerClient)
        {
            Leave(client);
            return "too many connections from this address";
        }
        return null;
    }

    public void Leave(IPAddress client)
    {
        Interlocked.Decrement(ref _total);
        client = ClientGroup.Of(client, ipv6Prefix);
        // Remove the entry when it reaches zero so the table does not grow with every address seen.
        while (_perClient.TryGetValue(client, out var n))
        {
            if (n <= 1 ? _perClient.TryRemove(new KeyValuePair<IPAddress, int>(client, n)) : _perClient.TryUpdate(client, n - 1, n))
                break;
        }
    }
}
