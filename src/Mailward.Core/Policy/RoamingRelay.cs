// Roaming users (POP-before-SMTP, vpopmail's roaming users): after a successful POP3 or IMAP
// login the client's address may relay for Relay:RoamingMinutes, each login extending it. Grants
// live in the account store (so `mailward relay list` and other nodes see them) and in memory here,
// re-read every few seconds; expiry is checked against the clock, and expired rows are removed as
// new grants are written, without a cron job.
using System.Collections.Concurrent;
using System.Net;
using Mailward.Core.Accounts;

namespace Mailward.Core.Policy;

public sealed class RoamingRelay(IAccountStore store, TimeSpan lifetime, TimeProvider? time = null)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(5);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private ConcurrentDictionary<string, DateTimeOffset> _grants = new(StringComparer.Ordinal);
    private long _loaded = long.MinValue;

    public bool Enabled => lifetime > TimeSpan.Zero;

    /// <summary>Grants (or extends) relaying for <paramref name="client"/> after <paramref name="login"/> logged in.</summary>
    public void Grant(IPAddress client, string login)
    {
        if (!Enabled)
            return;
        var now = _time.GetUtcNow();
        var address = Normalize(client).ToString();
        store.GrantRoaming(new RoamingGrant(address, login, now, now + lifetime));
        _grants.AddOrUpdate(address, now + lifetime, (_, old) => old > now + lifetime ? old : now + lifetime);
    }

    public bool MayRelay(IPAddress client)
    {
        if (!Enabled)
            return false;
        var stamp = _time.GetTimestamp();
        if (_loaded == long.MinValue || _time.GetElapsedTime(Volatile.Read(ref _loaded), stamp) >= Refresh)
        {
            var fresh = new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            foreach (var g in store.ListRoaming(_time.GetUtcNow()))
                fresh[g.Address] = g.ExpiresAt;
            _grants = fresh;
            Volatile.Write(ref _loaded, stamp);
        }
        return _grants.TryGetValue(Normalize(client).ToString(), out var until) && until > _time.GetUtcNow();
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
