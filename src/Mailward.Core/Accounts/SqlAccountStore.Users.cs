// The user aggregate in the SQL account store: lookups, the paged list, adds (MaxUsers checked inside
// the write transaction), deletes and targeted writes.
using System.Data.Common;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore
{
    private const string UserColumns =
        "u.id, u.domain_id, d.name, u.local, u.password_hash, u.clear_password, u.gecos, u.quota_bytes, u.quota_messages, " +
        "u.flags, u.dir, u.created_at, u.last_auth_at, u.last_auth_address, u.last_auth_service";

    private static UserRecord MapUser(DbDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.GetString(4), NullableString(r, 5), r.GetString(6),
        new Quota(r.GetInt64(7), r.GetInt64(8)), (UserFlags)r.GetInt32(9), r.GetString(10), FromUnix(r.GetInt64(11)),
        r.IsDBNull(12) ? null : new LastLogin(FromUnix(r.GetInt64(12)), r.GetString(13), r.GetString(14)));

    /// <summary>The id of the domain a name or an alias domain's name means (a scalar subquery for the lookups).</summary>
    private const string DomainIdOf = "(SELECT id FROM domains WHERE name = $n UNION ALL SELECT domain_id FROM domain_aliases WHERE name = $n LIMIT 1)";

    public UserRecord? FindUser(string local, string domain) => HotQuery(
        $"SELECT {UserColumns} FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.domain_id = {DomainIdOf} AND u.local = $l",
        MapUser, ("$n", domain), ("$l", local)).FirstOrDefault();

    public ValueTask<UserRecord?> FindUserAsync(string local, string domain, CancellationToken ct = default) => new(FindUser(local, domain));

    public IReadOnlyList<UserRecord> ListUsers(long domainId) =>
        Query($"SELECT {UserColumns} FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.domain_id = $d ORDER BY u.local",
            MapUser, ("$d", domainId));

    public Page<UserRecord> ListUsers(long domainId, PageRequest page) =>
        Searched(page, "users", "u", "local", $"SELECT {UserColumns}", "JOIN domains d ON d.id = u.domain_id", "u.domain_id = $d",
            MapUser, u => u.Local, ("$d", domainId));

    public UserRecord AddUser(DomainRecord domain, NewUser user, string directory, long intentId) => Write((c, tx) =>
    {
        // The limit is checked inside the write transaction (SQLite serializes writers: BEGIN
        // IMMEDIATE), against the domain's current row, so concurrent adds cannot pass it.
        // On PostgreSQL counted writes hold one advisory lock, so the same holds there.
        var limit = Query(c, tx, "SELECT max_users, user_count FROM domains WHERE id = $d",
            r => (Max: r.IsDBNull(0) ? (long?)null : r.GetInt64(0), Count: r.GetInt64(1)), ("$d", domain.Id));
        if (limit.Count == 1 && limit[0].Max is long most && limit[0].Count >= most)
            throw new AccountException(AccountError.LimitReached, $"limit reached: {domain.Name} allows at most {most} users");
        var id = InsertUser(c, tx, domain, user, directory);
        CompleteIntent(c, tx, intentId);
        return Query(c, tx, $"SELECT {UserColumns} FROM users u JOIN domains d ON d.id = u.domain_id WHERE u.id = $id", MapUser, ("$id", id))[0];
    });

    private long InsertUser(DbConnection c, DbTransaction tx, DomainRecord domain, NewUser u, string directory)
    {
        if (Scalar(c, tx, "SELECT 1 FROM aliases WHERE domain_id = $d AND local = $l", ("$d", domain.Id), ("$l", u.Local)) is not null)
            throw new AccountException(AccountError.UserExists, $"an alias already uses this address: {u.Local}@{domain.Name}");
        var quota = u.Quota ?? domain.Limits.DefaultUserQuota;
        try
        {
            // The UNIQUE(domain_id, local) constraint answers "exists" (no check before it to race with).
            var id = Convert.ToInt64(Scalar(c, tx, """
                INSERT INTO users(domain_id, local, password_hash, clear_password, gecos, quota_bytes, quota_messages, flags, dir, created_at)
                VALUES ($d, $l, $h, $cp, $g, $qb, $qm, $f, $dir, $now) RETURNING id
                """,
                ("$d", domain.Id), ("$l", u.Local), ("$h", u.PasswordHash), ("$cp", u.ClearPassword), ("$g", u.Gecos),
                ("$qb", quota.Bytes), ("$qm", quota.Messages), ("$f", (int)u.Flags), ("$dir", directory), ("$now", Now())));
            // The count moves in the same transaction as the row: a crash keeps both or neither.
            Exec(c, tx, "UPDATE domains SET user_count = user_count + 1 WHERE id = $d", ("$d", domain.Id));
            return id;
        }
        catch (DbException e) when (IsUniqueViolation(e))
        {
            throw new AccountException(AccountError.UserExists, $"user already exists: {u.Local}@{domain.Name}");
        }
    }

    public long DeleteUser(UserRecord user) => Write((c, tx) =>
    {
        if (Exec(c, tx, "DELETE FROM users WHERE id = $id", ("$id", user.Id)) == 0)
            throw new AccountException(AccountError.UserNotFound, $"user does not exist: {user.Address}");
        Exec(c, tx, "UPDATE domains SET user_count = user_count - 1 WHERE id = $d", ("$d", user.DomainId));
        DeleteAutoresponderRows(c, tx, user.DomainId, user.Local);
        DeleteUserAccess(c, tx, "$id", ("$id", user.Id));
        return InsertIntent(c, tx, FolderIntentKind.Delete, user.Directory);
    });

    public void UpdateUser(UserRecord user) => Write((c, tx) =>
    {
        var u = user;
        var n = Exec(c, tx, """
            UPDATE users SET password_hash = $h, clear_password = $cp, gecos = $g, quota_bytes = $qb,
                quota_messages = $qm, flags = $f WHERE id = $id
            """,
            ("$h", u.PasswordHash), ("$cp", u.ClearPassword), ("$g", u.Gecos), ("$qb", u.Quota.Bytes),
            ("$qm", u.Quota.Messages), ("$f", (int)u.Flags), ("$id", u.Id));
        if (n == 0)
            throw new AccountException(AccountError.UserNotFound, $"user does not exist: {u.Address}");
    });

    public bool PatchUser(long userId, UserPatch patch) => Write((c, tx) =>
    {
        var sets = new List<string>();
        var args = new List<(string, object?)> { ("$id", userId) };
        if (patch.SetFlags != UserFlags.None || patch.UnsetFlags != UserFlags.None)
        {
            // In SQL, so a flag set elsewhere meanwhile is kept: the row is read and written in one statement.
            sets.Add("flags = (flags | $fs) & ~$fu");
            args.Add(("$fs", (int)patch.SetFlags));
            args.Add(("$fu", (int)patch.UnsetFlags));
        }
        if (patch.Gecos is { } gecos)
        {
            sets.Add("gecos = $g");
            args.Add(("$g", gecos));
        }
        if (patch.Quota is { } quota)
        {
            sets.Add("quota_bytes = $qb, quota_messages = $qm");
            args.Add(("$qb", quota.Bytes));
            args.Add(("$qm", quota.Messages));
        }
        if (patch.Password is { } password)
        {
            sets.Add("password_hash = $h, clear_password = $cp");
            args.Add(("$h", password.Hash));
            args.Add(("$cp", password.ClearPassword));
        }
        return sets.Count == 0
            ? Scalar(c, tx, "SELECT 1 FROM users WHERE id = $id", [.. args]) is not null
            : Exec(c, tx, $"UPDATE users SET {string.Join(", ", sets)} WHERE id = $id", [.. args]) > 0;
    });

    public bool UpgradePasswordHash(long userId, string verifiedHash, string newHash) => Write((c, tx) =>
        Exec(c, tx, "UPDATE users SET password_hash = $h WHERE id = $id AND password_hash = $old",
            ("$h", newHash), ("$id", userId), ("$old", verifiedHash)) > 0);

    public void RecordLogin(long userId, LastLogin login) => QuietWrite((c, tx) =>
    {
        (string, object?)[] args = [("$t", login.At.ToUnixTimeSeconds()), ("$a", login.Address), ("$s", login.Service), ("$id", userId)];
        if (Exec(c, tx, "UPDATE users SET last_auth_at = $t, last_auth_address = $a, last_auth_service = $s WHERE id = $id", args) == 0)
            return; // deleted meanwhile: no row of a user that is gone
        // The same transaction: the last login and the service's own never disagree (migration 13).
        Exec(c, tx, """
            INSERT INTO user_logins(user_id, service, at, address) VALUES ($id, $s, $t, $a)
            ON CONFLICT(user_id, service) DO UPDATE SET at = excluded.at, address = excluded.address
            """, args);
    });

    public IReadOnlyList<LastLogin> ListLogins(long userId) =>
        Query("SELECT at, address, service FROM user_logins WHERE user_id = $id ORDER BY service",
            r => new LastLogin(FromUnix(r.GetInt64(0)), r.GetString(1), r.GetString(2)), ("$id", userId));
}
