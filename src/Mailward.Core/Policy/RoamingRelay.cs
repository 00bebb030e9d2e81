// Roaming users (POP-before-SMTP, vpopmail's roaming users): after a successful POP3 or IMAP
// login the client's address may send as that user for Relay:RoamingMinutes, each login extending
// it. Off by default: SMTP AUTH is the way to send now. A grant names its user, so a roaming
// session is that user (sender ownership, sending limits, flags), never an open relay for the
// address. Grants live in the account store (so `mailward relay list` and other nodes see them)
// and in memory here, re-read every few seconds; expiry is checked against the clock, and expired
// rows are removed as new grants are written, without a cron job.
using System.Collections.Concurrent;
using System.Net;
using Mailward.Core.Accounts;

namespace Mailward.Core.Policy;

public sealed class RoamingRelay(IAccountStore store, TimeSpan lifetime, TimeProvider? time = null)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(5);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private ConcurrentDictionary<string, RoamingGrant[]> _grants = new(StringComparer.Ordinal);
    private long _loaded = long.MinValue;

    public bool Enabled => lifetime > TimeSpan.Zero;

    /// <summary>Grants (or extends) sending as <paramref name="user"/> from <paramref name="client"/> after it logged in.</summary>
    public void Grant(IPAddress client, UserRecord user)
    {
        if (!Enabled)
            return;
        var now = _time.GetUtcNow();
        var grant = new RoamingGrant(Normalize(client).ToString(), user.Id, user.Address, now, now + lifetime);
        store.GrantRoaming(grant);
        _grants.AddOrUpdate(grant.Address, [grant], (_, old) => [.. old.Where(g => g.UserId != user.Id), grant]);
    }

    /// <summary>The unexpired grants for <paramref name="client"/>: the users who logged in from there.</summary>
    public IReadOnlyList<RoamingGrant> GrantsFor(IPAddress client)
    {
        if (!Enabled)
            return [];
        var stamp = _time.GetTimestamp();
        if (_loaded == long.MinValue || _time.GetElapsedTime(Volatile.Read(ref _loaded), stamp) >= Refresh)
        {
            try
            {
                _grants = new ConcurrentDictionary<string, RoamingGrant[]>(
                    store.ListRoaming(_time.GetUtcNow()).GroupBy(g => g.Address).Select(g => KeyValuePair.Create(g.Key, g.ToArray())), StringComparer.Ordinal);
            }
            catch (AccountStoreUnavailableException) when (_loaded != long.MinValue)
            {
                // the grants read last stay in use (their expiry still applies) until the store is back
            }
            Volatile.Write(ref _loaded, stamp);
        }
        var now = _time.GetUtcNow();
        return _grants.TryGetValue(Normalize(client).ToString(), out var grants) ? [.. grants.Where(g => g.ExpiresAt > now)] : [];
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
