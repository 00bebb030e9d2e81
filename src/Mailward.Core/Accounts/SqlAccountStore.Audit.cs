// The admin audit log's rows (schema migration 9, docs/web-admin.md "The audit log"), in the SQL
// SQLite and PostgreSQL share: appended in an uncounted write (no cache holds them, but a row that
// was answered for must survive a crash), read newest first by keyset pages.
using System.Data.Common;
using System.Text;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore
{
    private const string AuditColumns = "id, at, actor, actor_kind, origin, operation, target, domain, outcome, detail, before_value, after_value";

    public long AppendAudit(AuditRecord e)
    {
        using var c = Open();
        using var tx = BeginWrite(c, WriteKind.Uncounted);
        var id = Convert.ToInt64(Scalar(c, tx, """
            INSERT INTO audit_log(at, actor, actor_kind, origin, operation, target, domain, outcome, detail, before_value, after_value)
            VALUES ($at, $actor, $kind, $origin, $op, $target, $domain, $outcome, $detail, $before, $after) RETURNING id
            """, ("$at", e.At.ToUnixTimeMilliseconds()), ("$actor", e.Actor), ("$kind", e.ActorKind), ("$origin", e.Origin), ("$op", e.Operation),
            ("$target", e.Target), ("$domain", e.Domain), ("$outcome", e.Outcome), ("$detail", e.Detail), ("$before", e.Before), ("$after", e.After)), System.Globalization.CultureInfo.InvariantCulture);
        tx.Commit();
        return id;
    }

    public Page<AuditRecord> ListAudit(AuditQuery query)
    {
        var size = Math.Clamp(query.Limit, 1, PageRequest.MaxLimit);
        var sql = new StringBuilder($"SELECT {AuditColumns} FROM audit_log WHERE 1 = 1");
        var args = new List<(string, object?)>();
        if (query.Before is { } before)
        {
            sql.Append(" AND id < $before");
            args.Add(("$before", before));
        }
        if (query.Domain is { } one)
        {
            sql.Append(" AND domain = $domain");
            args.Add(("$domain", one));
        }
        if (query.Domains is { } domains)
        {
            if (domains.Count == 0)
                return new Page<AuditRecord>([], null);
            sql.Append(" AND domain IN (");
            for (var i = 0; i < domains.Count; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append("$d").Append(i);
                args.Add(("$d" + i, domains[i]));
            }
            sql.Append(')');
        }
        sql.Append(" ORDER BY id DESC LIMIT $limit");
        args.Add(("$limit", size + 1));
        using var c = Open();
        var rows = Query(c, null, sql.ToString(), MapAudit, [.. args]);
        return rows.Count > size
            ? new Page<AuditRecord>(rows.Take(size).ToList(), rows[size - 1].Id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : new Page<AuditRecord>(rows, null);
    }

    private static AuditRecord MapAudit(DbDataReader r) => new(r.GetInt64(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)),
        r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7), r.GetString(8),
        r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetString(10), r.IsDBNull(11) ? null : r.GetString(11));
}
