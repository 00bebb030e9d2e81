// API keys, admin grants and TOTP second factors in the account store (schema migration 6,
// docs/web-admin.md), in the SQL that SQLite and PostgreSQL share.
using System.Data.Common;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore
{
    private const string ApiKeyColumns = "id, name, secret_hash, system_scope, read_only, created_by, created_at, expires_at, revoked_at";

    private static (ApiKeyRecord Key, bool System) MapApiKey(DbDataReader r) => (new ApiKeyRecord(
        r.GetString(0), r.GetString(1), r.GetString(2), null, r.GetInt32(4) != 0, r.GetString(5),
        FromUnix(r.GetInt64(6)), FromUnix(r.GetInt64(7)), r.IsDBNull(8) ? null : FromUnix(r.GetInt64(8))), r.GetInt32(3) != 0);

    public void AddApiKey(ApiKeyRecord key, IReadOnlyList<long>? domainIds) => Write((c, tx) =>
    {
        if (Scalar(c, tx, "SELECT 1 FROM api_keys WHERE name = $n", ("$n", key.Name)) is not null)
            throw new AccountException(AccountError.InvalidArgument, $"an API key named {key.Name} exists (names are never reused, also of revoked keys)");
        Exec(c, tx, $"INSERT INTO api_keys({ApiKeyColumns}) VALUES ($id, $n, $h, $sys, $ro, $by, $at, $exp, NULL)",
            ("$id", key.Id), ("$n", key.Name), ("$h", key.SecretHash), ("$sys", domainIds is null ? 1 : 0), ("$ro", key.ReadOnly ? 1 : 0),
            ("$by", key.CreatedBy), ("$at", key.CreatedAt.ToUnixTimeSeconds()), ("$exp", key.ExpiresAt.ToUnixTimeSeconds()));
        foreach (var d in domainIds ?? [])
            Exec(c, tx, "INSERT INTO api_key_domains(key_id, domain_id) VALUES ($k, $d)", ("$k", key.Id), ("$d", d));
    });

    public ApiKeyRecord? FindApiKey(string id)
    {
        using var c = Open();
        return Query(c, null, $"SELECT {ApiKeyColumns} FROM api_keys WHERE id = $id", MapApiKey, ("$id", id))
            .Select(k => WithDomains(c, k)).FirstOrDefault();
    }

    public IReadOnlyList<ApiKeyRecord> ListApiKeys()
    {
        using var c = Open();
        return Query(c, null, $"SELECT {ApiKeyColumns} FROM api_keys ORDER BY name", MapApiKey).Select(k => WithDomains(c, k)).ToList();
    }

    private ApiKeyRecord WithDomains(DbConnection c, (ApiKeyRecord Key, bool System) k) => k.System ? k.Key
        : k.Key with
        {
            Domains = Query(c, null, "SELECT d.name FROM api_key_domains k JOIN domains d ON d.id = k.domain_id WHERE k.key_id = $k ORDER BY d.name",
                r => r.GetString(0), ("$k", k.Key.Id)),
        };

    public bool RevokeApiKey(string name, DateTimeOffset at) => Write((c, tx) =>
        Exec(c, tx, "UPDATE api_keys SET revoked_at = $at WHERE name = $n AND revoked_at IS NULL", ("$at", at.ToUnixTimeSeconds()), ("$n", name)) > 0);

    public bool AddAdminGrant(long userId, long domainId) => Write((c, tx) =>
        Scalar(c, tx, "SELECT 1 FROM admin_grants WHERE user_id = $u AND domain_id = $d", ("$u", userId), ("$d", domainId)) is null
        && Exec(c, tx, "INSERT INTO admin_grants(user_id, domain_id) VALUES ($u, $d)", ("$u", userId), ("$d", domainId)) > 0);

    public bool DeleteAdminGrant(long userId, long domainId) => Write((c, tx) =>
        Exec(c, tx, "DELETE FROM admin_grants WHERE user_id = $u AND domain_id = $d", ("$u", userId), ("$d", domainId)) > 0);

    public IReadOnlyList<string> ListAdminGrants(long userId) =>
        Query("SELECT d.name FROM admin_grants g JOIN domains d ON d.id = g.domain_id WHERE g.user_id = $u ORDER BY d.name", r => r.GetString(0), ("$u", userId));

    public IReadOnlyList<AdminGrant> ListAllAdminGrants() =>
        Query("""
            SELECT u.local, ud.name, d.name FROM admin_grants g JOIN users u ON u.id = g.user_id JOIN domains ud ON ud.id = u.domain_id
            JOIN domains d ON d.id = g.domain_id ORDER BY ud.name, u.local, d.name
            """, r => new AdminGrant($"{r.GetString(0)}@{r.GetString(1)}", r.GetString(2)));

    public TotpRecord? FindTotp(long userId) =>
        Query("SELECT user_id, secret, confirmed, last_step, created_at FROM totp WHERE user_id = $u",
            r => new TotpRecord(r.GetInt64(0), r.GetString(1), r.GetInt32(2) != 0, r.GetInt64(3), FromUnix(r.GetInt64(4))), ("$u", userId)).FirstOrDefault();

    public void SetTotp(TotpRecord totp) => Write((c, tx) =>
    {
        var t = totp;
        Exec(c, tx, "DELETE FROM totp WHERE user_id = $u", ("$u", t.UserId));
        Exec(c, tx, "INSERT INTO totp(user_id, secret, confirmed, last_step, created_at) VALUES ($u, $s, $c, $l, $at)",
            ("$u", t.UserId), ("$s", t.Secret), ("$c", t.Confirmed ? 1 : 0), ("$l", t.LastStep), ("$at", t.CreatedAt.ToUnixTimeSeconds()));
    });

    public bool DeleteTotp(long userId) => Write((c, tx) => Exec(c, tx, "DELETE FROM totp WHERE user_id = $u", ("$u", userId)) > 0);

    public bool TryUseTotpStep(long userId, long step)
    {
        // Nothing a cache holds (no change-counter bump), but durable: a code used must stay used. An
        // uncounted write is that on both providers (this was a SQLite PRAGMA, a syntax error on PostgreSQL).
        using var c = Open();
        using var tx = BeginWrite(c, WriteKind.Uncounted);
        var used = Exec(c, tx, "UPDATE totp SET last_step = $s, confirmed = 1 WHERE user_id = $u AND last_step < $s", ("$s", step), ("$u", userId)) > 0;
        tx.Commit();
        return used;
    }

    /// <summary>An account's grants and second factor go with it (ids may be reused after a delete).</summary>
    private void DeleteUserAccess(DbConnection c, DbTransaction tx, string userIds, params (string, object?)[] args)
    {
        Exec(c, tx, $"DELETE FROM admin_grants WHERE user_id IN ({userIds})", args);
        Exec(c, tx, $"DELETE FROM totp WHERE user_id IN ({userIds})", args);
        Exec(c, tx, $"DELETE FROM user_logins WHERE user_id IN ({userIds})", args);
    }
}
