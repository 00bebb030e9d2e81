// Anvil for the SMTP door: per client (an IPv4 address, an IPv6 prefix) the connections, messages
// and recipients of the current minute. As Postfix's anvil, a client's counts start with its first
// event and are reset once a minute has passed since then (a fixed window per client, no timers).
// Memory is bounded: at most TrackedClients entries, the least recently seen dropped first (a
// client dropped under a flood of new addresses starts again from zero, which is what anvil does
// after its idle time too). The clock is injected, so tests move time by hand.
using System.Net;
using Mailward.Core.Policy;

namespace Mailward.Core.RateLimit;

public enum RateEvent
{
    Connection,
    Message,
    Recipient,
}

public sealed class ClientRates(DoorLimitOptions options, TimeProvider? time = null)
{
    private sealed class Counts(IPAddress client)
    {
        public readonly IPAddress Client = client;
        public long WindowStart;
        public readonly int[] Events = new int[3];
        public LinkedListNode<Counts>? Node;
    }

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<IPAddress, Counts> _clients = [];
    private readonly LinkedList<Counts> _recent = []; // most recently seen first
    private readonly Lock _lock = new();

    public DoorLimitOptions Options => options;

    /// <summary>How many clients are tracked now (tests, diagnostics).</summary>
    public int Tracked
    {
        get
        {
            lock (_lock)
                return _clients.Count;
        }
    }

    /// <summary>The key a client counts under: IPv4 as it is, IPv6 by its Smtp:ClientIpv6PrefixLength prefix.</summary>
    public IPAddress GroupOf(IPAddress client) => ClientGroup.Of(client, options.Ipv6PrefixLength);

    /// <summary>
    /// Counts one event of <paramref name="client"/> and tells whether it stays within its limit
    /// (0: none). Refused events count too, as anvil's do: a client that keeps trying is refused
    /// until its minute is over.
    /// </summary>
    public bool Count(IPAddress client, RateEvent kind)
    {
        var limit = kind switch
        {
            RateEvent.Connection => options.ConnectionsPerMinute,
            RateEvent.Message => options.MessagesPerMinute,
            _ => options.RecipientsPerMinute,
        };
        if (limit <= 0)
            return true;
        var key = GroupOf(client);
        var now = _time.GetTimestamp();
        lock (_lock)
        {
            if (_clients.TryGetValue(key, out var c))
                _recent.Remove(c.Node!);
            else
            {
                if (_clients.Count >= options.TrackedClients && _recent.Last is { } oldest)
                {
                    _recent.RemoveLast();
                    _clients.Remove(oldest.Value.Client);
                }
                c = new Counts(key) { WindowStart = now };
                _clients[key] = c;
            }
            c.Node = _recent.AddFirst(c);
            if (_time.GetElapsedTime(c.WindowStart, now) >= DoorLimitOptions.Unit)
            {
                c.WindowStart = now;
                Array.Clear(c.Events);
            }
            return ++c.Events[(int)kind] <= limit;
        }
    }
}
