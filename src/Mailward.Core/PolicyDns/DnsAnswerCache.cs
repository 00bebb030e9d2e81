// A small answer cache in front of the policy resolver: bounded in entries (the least recently used
// goes first), each answer kept for its records' smallest TTL capped by Dns:CacheMaxSeconds, and
// negative answers for the SOA's negative TTL (RFC 2308 §5; none without an SOA). Errors are never
// kept: the next question asks again.
namespace Mailward.Core.PolicyDns;

public sealed class DnsAnswerCache(int capacity, TimeProvider time)
{
    private readonly Dictionary<(string, DnsRecordType), LinkedListNode<Entry>> _map = [];
    private readonly LinkedList<Entry> _recent = new(); // most recently used first
    private readonly Lock _lock = new();

    private sealed record Entry((string, DnsRecordType) Key, DnsAnswer Answer, DateTimeOffset Expires);

    public int Count
    {
        get
        {
            lock (_lock)
                return _map.Count;
        }
    }

    public bool TryGet(string name, DnsRecordType type, out DnsAnswer answer)
    {
        answer = null!;
        var key = (name, type);
        lock (_lock)
        {
            if (!_map.TryGetValue(key, out var node))
                return false;
            if (node.Value.Expires <= time.GetUtcNow())
            {
                _recent.Remove(node);
                _map.Remove(key);
                return false;
            }
            _recent.Remove(node);
            _recent.AddFirst(node);
            answer = node.Value.Answer;
            return true;
        }
    }

    public void Add(string name, DnsRecordType type, DnsAnswer answer, TimeSpan ttl)
    {
        if (capacity <= 0 || ttl <= TimeSpan.Zero || answer.Outcome == DnsOutcome.Error)
            return;
        var key = (name, type);
        lock (_lock)
        {
            if (_map.Remove(key, out var old))
                _recent.Remove(old);
            while (_map.Count >= capacity && _recent.Last is { } last)
            {
                _recent.RemoveLast();
                _map.Remove(last.Value.Key);
            }
            _map[key] = _recent.AddFirst(new Entry(key, answer, time.GetUtcNow() + ttl));
        }
    }
}
