// Failed-login counting for LoginService, in three views so that logging in to one's own account
// cannot hide guesses at another (issue 18): per client (IPv6 grouped by /64), per (client, login)
// pair and per account. A client's count is the sum of its pairs' failures in the window; a success
// clears only its own pair, so a user's typos before a good login stop counting while guesses at
// other logins keep counting. An account that collects Auth:MaxFailuresPerAccount failures from
// anywhere backs off: its logins are refused until its window has passed. Every map is bounded by
// Auth:MaxTrackedEntries; expired entries go first, then the oldest. This is the one node's
// (SQLite) throttle; nodes on a PostgreSQL store share SharedLoginThrottle's counts instead.
using System.Collections.Concurrent;
using System.Net;
using Mailward.Core.Policy;

namespace Mailward.Core.Auth;

/// <summary>The throttle's three views; a shared one may throw AccountStoreUnavailableException.</summary>
internal interface ILoginThrottle
{
    /// <summary>True when the client or the account has used up its failures for now.</summary>
    bool IsThrottled(IPAddress client, string account, DateTimeOffset now);

    void Failed(IPAddress client, string account, DateTimeOffset now);

    /// <summary>A good login: the pair's own failures stop counting against the client; nothing else is cleared.</summary>
    void Succeeded(IPAddress client, string account, DateTimeOffset now);
}

internal sealed class LoginThrottle(LoginOptions options) : ILoginThrottle
{
    private readonly Counter<IPAddress> _clients = new(options.MaxTrackedEntries);
    private readonly Counter<(IPAddress, string)> _pairs = new(options.MaxTrackedEntries);
    private readonly Counter<string> _accounts = new(options.MaxTrackedEntries);

    /// <summary>True when the client or the account has used up its failures for now.</summary>
    public bool IsThrottled(IPAddress client, string account, DateTimeOffset now) =>
        _clients.Count(ClientGroup.Of(client), now, options.FailureWindow) >= options.MaxFailuresPerClient ||
        _accounts.Count(account, now, options.FailureWindow) >= options.MaxFailuresPerAccount;

    public void Failed(IPAddress client, string account, DateTimeOffset now)
    {
        var group = ClientGroup.Of(client);
        _clients.Add(group, 1, now, options.FailureWindow);
        _pairs.Add((group, account), 1, now, options.FailureWindow);
        _accounts.Add(account, 1, now, options.FailureWindow);
    }

    /// <summary>A good login: the pair's own failures stop counting against the client; nothing else is cleared.</summary>
    public void Succeeded(IPAddress client, string account, DateTimeOffset now)
    {
        var group = ClientGroup.Of(client);
        if (_pairs.Remove((group, account), now, options.FailureWindow) is > 0 and var own)
            _clients.Add(group, -own, now, options.FailureWindow);
    }

    /// <summary>Counts per key in a fixed window that starts at the key's first failure.</summary>
    private sealed class Counter<TKey>(int maxEntries) where TKey : notnull
    {
        private readonly ConcurrentDictionary<TKey, (int Count, DateTimeOffset Since)> _map = new();

        public int Count(TKey key, DateTimeOffset now, TimeSpan window) =>
            _map.TryGetValue(key, out var e) && now - e.Since <= window ? e.Count : 0;

        public void Add(TKey key, int n, DateTimeOffset now, TimeSpan window)
        {
            _map.AddOrUpdate(key, _ => (Math.Max(n, 0), now), (_, e) => now - e.Since > window ? (Math.Max(n, 0), now) : (Math.Max(e.Count + n, 0), e.Since));
            if (_map.Count > maxEntries)
                Prune(now, window);
        }

        /// <summary>Removes the key; returns its count if it was still in its window.</summary>
        public int Remove(TKey key, DateTimeOffset now, TimeSpan window) =>
            _map.TryRemove(key, out var e) && now - e.Since <= window ? e.Count : 0;

        private void Prune(DateTimeOffset now, TimeSpan window)
        {
            lock (_map)
            {
                if (_map.Count <= maxEntries)
                    return;
                foreach (var (key, e) in _map)
                {
                    if (now - e.Since > window)
                        _map.TryRemove(key, out _);
                }
                // Still full of live entries (a flood of addresses): forget the oldest tenth.
                if (_map.Count > maxEntries)
                {
                    foreach (var (key, _) in _map.OrderBy(kv => kv.Value.Since).Take(Math.Max(1, _map.Count - maxEntries * 9 / 10)).ToList())
                        _map.TryRemove(key, out _);
                }
            }
        }
    }
}
