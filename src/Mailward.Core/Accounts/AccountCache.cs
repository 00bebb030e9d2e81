// The in-process read cache for the hot path. It holds hits and misses (a spammer's RCPT to a
// missing user costs one query, then none), stays bounded, and is dropped whenever the store's
// change counter moves: at once for changes made here, within Accounts:CacheCheckMilliseconds for
// changes made by another process.
using System.Collections.Concurrent;

namespace Mailward.Core.Accounts;

/// <summary>What a cached answer is for: a kind of lookup, the domain's id where known, and a name. No allocation per lookup.</summary>
internal readonly record struct CacheKey(char Kind, long DomainId, string Name);

internal sealed class AccountCache(int maxEntries, TimeSpan checkInterval, TimeProvider time)
{
    private ConcurrentDictionary<CacheKey, object?> _entries = new();
    private long _generation = -1;
    private long _nextCheck;

    public bool Enabled => maxEntries > 0;

    /// <summary>Drops everything when <paramref name="readGeneration"/> reports a change; called before a lookup.</summary>
    public void Validate(Func<long> readGeneration)
    {
        var now = time.GetTimestamp();
        if (now < Volatile.Read(ref _nextCheck) && Volatile.Read(ref _generation) >= 0)
            return;
        var g = readGeneration();
        if (g != Interlocked.Exchange(ref _generation, g))
            _entries = new ConcurrentDictionary<CacheKey, object?>();
        Volatile.Write(ref _nextCheck, now + (long)(checkInterval.TotalSeconds * time.TimestampFrequency));
    }

    /// <summary>
    /// The cached value, or <paramref name="load"/>'s. The value is stored in the set of entries that
    /// was current before the load, so a load that raced with a write lands in the discarded set.
    /// </summary>
    public T? GetOrLoad<T>(CacheKey key, Func<T?> load) where T : class
    {
        if (!Enabled)
            return load();
        var entries = _entries;
        if (entries.TryGetValue(key, out var v))
            return (T?)v;
        var loaded = load();
        if (entries.Count >= maxEntries)
            entries.Clear();
        entries[key] = loaded;
        return loaded;
    }

    /// <summary>After a write in this process: forget everything and re-read the counter next time.</summary>
    public void Invalidate()
    {
        _entries = new ConcurrentDictionary<CacheKey, object?>();
        Volatile.Write(ref _generation, -1);
    }
}
