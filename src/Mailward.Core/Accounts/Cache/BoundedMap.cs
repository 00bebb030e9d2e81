// A concurrent map that holds at most `capacity` entries and never empties itself to make room: two
// generations, new entries going to the young one; when the young one is full it becomes the old
// one and the previous old one is dropped. A hit in the old generation moves the entry back to the
// young one, so entries in use stay (an approximate LRU without per-entry bookkeeping). Reads of
// present keys allocate nothing.
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Mailward.Core.Accounts.Cache;

internal sealed class BoundedMap<TKey, TValue> where TKey : notnull
{
    private sealed class Generation
    {
        public readonly ConcurrentDictionary<TKey, TValue> Map = new();
        public int Added;
    }

    private readonly int _generationSize;
    private readonly Lock _rotation = new();
    private Generation _young = new();
    private Generation _old = new();

    /// <param name="capacity">At most this many entries (0: nothing is kept).</param>
    public BoundedMap(int capacity)
    {
        Capacity = capacity;
        _generationSize = capacity / 2;
    }

    public int Capacity { get; }

    /// <summary>How many entries are held (counts every bucket: for tests and diagnostics, not the hot path).</summary>
    public int Count => Volatile.Read(ref _young).Map.Count + Volatile.Read(ref _old).Map.Count;

    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        if (Volatile.Read(ref _young).Map.TryGetValue(key, out value))
            return true;
        if (!Volatile.Read(ref _old).Map.TryGetValue(key, out value))
            return false;
        Set(key, value); // in use: keep it past the next rotation
        return true;
    }

    public void Set(TKey key, TValue value)
    {
        if (Capacity <= 0)
            return;
        if (Capacity == 1)
        {
            // Too small for two generations: one entry, replaced.
            lock (_rotation)
            {
                var single = new Generation();
                single.Map[key] = value;
                Volatile.Write(ref _young, single);
            }
            return;
        }
        var young = Volatile.Read(ref _young);
        if (!young.Map.TryAdd(key, value))
        {
            young.Map[key] = value;
            return;
        }
        if (Interlocked.Increment(ref young.Added) >= _generationSize)
            Rotate(young);
    }

    private void Rotate(Generation full)
    {
        lock (_rotation)
        {
            if (!ReferenceEquals(Volatile.Read(ref _young), full))
                return; // another thread rotated it already
            Volatile.Write(ref _old, full);
            Volatile.Write(ref _young, new Generation());
        }
    }
}
