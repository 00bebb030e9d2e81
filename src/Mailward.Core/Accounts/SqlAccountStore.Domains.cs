// Domains, alias domains, limits and catch-alls in the SQL account store.
using System.Data.Common;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore
{
    private const string DomainColumns =
        "d.id, d.name, d.dir, d.catchall_kind, d.catchall_target, d.max_users, d.max_aliases, d.max_forwards, " +
        "d.max_autoresponders, d.max_lists, d.quota_bytes, d.quota_messages, d.default_quota_bytes, d.default_quota_messages, d.created_at";

    private static DomainRecord MapDomain(DbDataReader r) => new(
        r.GetInt64(0),
        r.GetString(1),
        r.GetString(2),
        new CatchAll((CatchAllKind)r.GetInt32(3), NullableString(r, 4)),
        new DomainLimits
        {
            MaxUsers = NullableInt(r, 5),
            MaxAliases = NullableInt(r, 6),
            MaxForwards = NullableInt(r, 7),
            MaxAutoresponders = NullableInt(r, 8),
            MaxLists = NullableInt(r, 9),
            DomainQuota = new Quota(r.GetInt64(10), r.GetInt64(11)),
            DefaultUserQuota = new Quota(r.GetInt64(12), r.GetInt64(13)),
        },
        FromUnix(r.GetInt64(14)));

    public DomainRecord? FindDomain(string name) => HotQuery(
        $"SELECT {DomainColumns} FROM domains d WHERE d.name = $n " +
        $"UNION ALL SELECT {DomainColumns} FROM domain_aliases a JOIN domains d ON d.id = a.domain_id WHERE a.name = $n LIMIT 1",
        MapDomain, ("$n", name)).FirstOrDefault();

    public ValueTask<DomainRecord?> FindDomainAsync(string name, CancellationToken ct = default) => new(FindDomain(name));

    public IReadOnlyList<DomainRecord> ListDomains() =>
        Query($"SELECT {DomainColumns} FROM domains d ORDER BY d.name", MapDomain);

    public Page<DomainRecord> ListDomains(PageRequest page) =>
        Searched(page, "domains", "d", "name", $"SELECT {DomainColumns}", "", null, MapDomain, d => d.Name);

    public IReadOnlyList<string> ListDomainAliases(long domainId) =>
        Query("SELECT name FROM domain_aliases WHERE domain_id = $d ORDER BY name", r => r.GetString(0), ("$d", domainId));

    public DomainRecord AddDomain(string name, string directory, CatchAll catchAll, DomainLimits limits, NewUser? firstUser, string firstUserDirectory, long intentId) =>
        Write((c, tx) =>
        {
            if (DomainNameTaken(c, tx, name))
                throw new AccountException(AccountError.DomainExists, $"domain already exists: {name}");
            var id = Convert.ToInt64(Scalar(c, tx,
                "INSERT INTO domains(name, dir, catchall_kind, catchall_target, created_at, next_user_slot) VALUES ($n, $dir, $k, $t, $now, $slot) RETURNING id",
                ("$slot", firstUser is null ? 0 : 1), ("$n", name), ("$dir", directory), ("$k", (int)catchAll.Kind), ("$t", catchAll.Target), ("$now", Now())));
            WriteLimits(c, tx, id, limits);
            var domain = new DomainRecord(id, name, directory, catchAll, limits, FromUnix(Now()));
            if (firstUser is not null)
                InsertUser(c, tx, domain, firstUser, firstUserDirectory);
            CompleteIntent(c, tx, intentId);
            return domain;
        });

    private bool DomainNameTaken(DbConnection c, DbTransaction tx, string name) =>
        Scalar(c, tx, "SELECT 1 FROM domains WHERE name = $n UNION ALL SELECT 1 FROM domain_aliases WHERE name = $n", ("$n", name)) is not null;

    private static readonly string[] DomainOwnedTables = ["users", "aliases", "domain_aliases", "autoresponders", "autoresponder_replies", "admin_grants", "api_key_domains"];

    public long DeleteDomain(DomainRecord domain) => Write((c, tx) =>
    {
        DeleteUserAccess(c, tx, "SELECT id FROM users WHERE domain_id = $d", ("$d", domain.Id));
        foreach (var table in DomainOwnedTables)
            Exec(c, tx, $"DELETE FROM {table} WHERE domain_id = $d", ("$d", domain.Id));
        Exec(c, tx, "DELETE FROM ip_map WHERE domain = $n", ("$n", domain.Name));
        if (Exec(c, tx, "DELETE FROM domains WHERE id = $d", ("$d", domain.Id)) == 0)
            throw new AccountException(AccountError.DomainNotFound, $"domain does not exist: {domain.Name}");
        return InsertIntent(c, tx, FolderIntentKind.Delete, domain.Directory);
    });

    public void AddDomainAlias(string alias, long domainId) => Write((c, tx) =>
    {
        if (DomainNameTaken(c, tx, alias))
            throw new AccountException(AccountError.DomainExists, $"domain already exists: {alias}");
        Exec(c, tx, "INSERT INTO domain_aliases(name, domain_id) VALUES ($n, $d)", ("$n", alias), ("$d", domainId));
    });

    public bool DeleteDomainAlias(string alias) =>
        Write((c, tx) => Exec(c, tx, "DELETE FROM domain_aliases WHERE name = $n", ("$n", alias)) > 0);

    public void SetCatchAll(long domainId, CatchAll catchAll) => Write((c, tx) =>
        Exec(c, tx, "UPDATE domains SET catchall_kind = $k, catchall_target = $t WHERE id = $d",
            ("$k", (int)catchAll.Kind), ("$t", catchAll.Target), ("$d", domainId)));

    public void SetLimits(long domainId, DomainLimits limits) => Write((c, tx) => WriteLimits(c, tx, domainId, limits));

    private void WriteLimits(DbConnection c, DbTransaction tx, long id, DomainLimits l) =>
        Exec(c, tx, """
            UPDATE domains SET max_users = $mu, max_aliases = $ma, max_forwards = $mf, max_autoresponders = $mr,
                max_lists = $ml, quota_bytes = $qb, quota_messages = $qm, default_quota_bytes = $dqb,
                default_quota_messages = $dqm WHERE id = $d
            """,
            ("$mu", l.MaxUsers), ("$ma", l.MaxAliases), ("$mf", l.MaxForwards), ("$mr", l.MaxAutoresponders),
            ("$ml", l.MaxLists), ("$qb", l.DomainQuota.Bytes), ("$qm", l.DomainQuota.Messages),
            ("$dqb", l.DefaultUserQuota.Bytes), ("$dqm", l.DefaultUserQuota.Messages), ("$d", id));

    public int CountUsers(long domainId)
    {
        using var c = Open();
        // The kept count (migration 11), not COUNT(*): one row read, whatever the domain holds.
        return Convert.ToInt32(Scalar(c, null, "SELECT user_count FROM domains WHERE id = $d", ("$d", domainId)) ?? 0);
    }

    public (string Path, long IntentId) ReserveFolder(long? domainId, Func<long, string> pathForSlot) => Write((c, tx) =>
    {
        var slot = domainId is { } id
            ? Scalar(c, tx, "UPDATE domains SET next_user_slot = next_user_slot + 1 WHERE id = $d RETURNING next_user_slot - 1", ("$d", id))
            : Scalar(c, tx, "UPDATE meta SET value = value + 1 WHERE key = 'next_domain_slot' RETURNING value - 1");
        if (slot is null)
            throw new AccountException(AccountError.DomainNotFound, "domain does not exist");
        var path = pathForSlot(Convert.ToInt64(slot));
        return (path, InsertIntent(c, tx, FolderIntentKind.Create, path));
    });
}
