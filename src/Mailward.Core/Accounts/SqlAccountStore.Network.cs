// The network aggregate in the SQL account store: relay rules, IP-to-domain maps (vipmap) and roaming grants.
using System.Data.Common;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore
{
    public string? MapIpToDomain(string address) =>
        HotQuery("SELECT domain FROM ip_map WHERE address = $a ORDER BY domain LIMIT 1", r => r.GetString(0), ("$a", address)).FirstOrDefault();

    public ValueTask<string?> MapIpToDomainAsync(string address, CancellationToken ct = default) => new(MapIpToDomain(address));

    public void GrantRoaming(RoamingGrant grant) => QuietWrite((c, tx) =>
    {
        // Expired grants go as new ones come: no cron job (vpopmail needed clearopensmtp).
        Exec(c, tx, "DELETE FROM roaming WHERE expires_at <= $now", ("$now", grant.GrantedAt.ToUnixTimeSeconds()));
        Exec(c, tx, """
            INSERT INTO roaming(address, user_id, login, expires_at) VALUES ($a, $u, $l, $e)
            ON CONFLICT(address, user_id) DO UPDATE SET login = excluded.login,
                expires_at = CASE WHEN excluded.expires_at > roaming.expires_at THEN excluded.expires_at ELSE roaming.expires_at END
            """, ("$a", grant.Address), ("$u", grant.UserId), ("$l", grant.Login), ("$e", grant.ExpiresAt.ToUnixTimeSeconds()));
    });

    public IReadOnlyList<RoamingGrant> ListRoaming(DateTimeOffset now) =>
        Query("SELECT address, user_id, login, expires_at FROM roaming WHERE expires_at > $now ORDER BY address, login",
            r => new RoamingGrant(r.GetString(0), r.GetInt64(1), r.GetString(2), now, FromUnix(r.GetInt64(3))), ("$now", now.ToUnixTimeSeconds()));

    public IReadOnlyList<RelayRule> ListRelayRules() =>
        Query("SELECT network, action, comment, created_at FROM relay_rules ORDER BY network",
            r => new RelayRule(r.GetString(0), (RelayAction)r.GetInt32(1), r.GetString(2), FromUnix(r.GetInt64(3))));

    public Page<RelayRule> ListRelayRules(PageRequest page) =>
        Paged(page, $"SELECT network, action, comment, created_at FROM relay_rules WHERE {PageFilter("network", page)} ORDER BY network LIMIT $limit",
            r => new RelayRule(r.GetString(0), (RelayAction)r.GetInt32(1), r.GetString(2), FromUnix(r.GetInt64(3))), r => r.Network);

    public void SetRelayRule(RelayRule rule) => Write((c, tx) =>
        Exec(c, tx, """
            INSERT INTO relay_rules(network, action, comment, created_at) VALUES ($n, $a, $c, $t)
            ON CONFLICT(network) DO UPDATE SET action = excluded.action, comment = excluded.comment
            """,
            ("$n", rule.Network), ("$a", (int)rule.Action), ("$c", rule.Comment), ("$t", Now())));

    public bool DeleteRelayRule(string network) =>
        Write((c, tx) => Exec(c, tx, "DELETE FROM relay_rules WHERE network = $n", ("$n", network)) > 0);

    public IReadOnlyList<IpMapEntry> ListIpMap() =>
        Query("SELECT address, domain FROM ip_map ORDER BY address, domain", r => new IpMapEntry(r.GetString(0), r.GetString(1)));

    /// <summary>The cursor is address and domain (an address may map to several domains).</summary>
    public Page<IpMapEntry> ListIpMap(PageRequest page)
    {
        var (address, domain) = page.After is { } after && after.IndexOf(' ', StringComparison.Ordinal) is > 0 and var sp ? (after[..sp], after[(sp + 1)..]) : (page.After, "");
        return Paged(page with { After = null }, """
            SELECT address, domain FROM ip_map
            WHERE (CAST($a AS TEXT) IS NULL OR address > $a OR (address = $a AND domain > $ad))
                AND (CAST($search AS TEXT) IS NULL OR address LIKE $search ESCAPE '\' OR domain LIKE $search ESCAPE '\')
            ORDER BY address, domain LIMIT $limit
            """, r => new IpMapEntry(r.GetString(0), r.GetString(1)), e => $"{e.Address} {e.Domain}", ("$a", address), ("$ad", domain));
    }

    public void AddIpMap(IpMapEntry entry) => Write((c, tx) =>
        Exec(c, tx, "INSERT INTO ip_map(address, domain) VALUES ($a, $d) ON CONFLICT DO NOTHING", ("$a", entry.Address), ("$d", entry.Domain)));

    public bool DeleteIpMap(string address, string? domain) => Write((c, tx) => (domain is null
        ? Exec(c, tx, "DELETE FROM ip_map WHERE address = $a", ("$a", address))
        : Exec(c, tx, "DELETE FROM ip_map WHERE address = $a AND domain = $d", ("$a", address), ("$d", domain))) > 0);
}
