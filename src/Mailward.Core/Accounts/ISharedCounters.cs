// Counters that every node sharing the account store sees (docs/multi-node.md "What else the nodes
// share"): the login throttles' windowed counts and the sending limits' sent messages, kept in the
// store's shared_counters and shared_events tables (schema migration 10). PostgreSQL has them; SQLite
// serves one node, whose callers keep their in-process counts.
namespace Mailward.Core.Accounts;

/// <summary>A counter's name: a kind ("login-client", "sent") and a key within it.</summary>
public readonly record struct CounterKey(string Kind, string Key);

/// <remarks>Every member may throw <see cref="AccountStoreUnavailableException"/>: the caller decides the safe answer.</remarks>
public interface ISharedCounters
{
    /// <summary>
    /// The counts of <paramref name="keys"/> (in their order), each in a fixed window that starts at
    /// its first count; a counter whose window has passed counts 0.
    /// </summary>
    IReadOnlyList<long> Counts(IReadOnlyList<CounterKey> keys, DateTimeOffset now, TimeSpan window);

    /// <summary>Adds 1 to each of <paramref name="keys"/> (one that has none, or whose window has passed, starts a new window at 1), atomically.</summary>
    void Increment(IReadOnlyList<CounterKey> keys, DateTimeOffset now, TimeSpan window);

    /// <summary>Removes <paramref name="removed"/> and subtracts what it counted in its window from <paramref name="reduced"/> (never below 0), atomically.</summary>
    void TakeBack(CounterKey removed, CounterKey reduced, DateTimeOffset now, TimeSpan window);

    /// <summary>How many events of <paramref name="key"/> happened after <paramref name="since"/>, counting at most <paramref name="atMost"/>.</summary>
    int CountEvents(CounterKey key, DateTimeOffset since, int atMost);

    /// <summary>Records events of <paramref name="key"/> at the given times, each kept until <paramref name="keep"/> after it.</summary>
    void AddEvents(CounterKey key, IReadOnlyList<DateTimeOffset> at, TimeSpan keep);
}
