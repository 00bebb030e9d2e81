// Autoresponders in the SQL account store (docs/autoresponder.md): the records, and the once-per-sender
// memory with its bounded clean-up. The SQL is what SQLite and PostgreSQL share (ON CONFLICT ...
// DO UPDATE ... WHERE is in both).
using System.Data.Common;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore
{
    private const string AutoresponderColumns = "domain_id, local, subject, body, starts_at, ends_at, interval_days, deliver, updated_at";

    private static AutoresponderRecord ReadAutoresponder(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
        r.IsDBNull(4) ? null : FromUnix(r.GetInt64(4)), r.IsDBNull(5) ? null : FromUnix(r.GetInt64(5)),
        r.GetInt32(6), r.GetInt32(7) != 0, FromUnix(r.GetInt64(8)));

    public AutoresponderRecord? FindAutoresponder(long domainId, string local) =>
        HotQuery($"SELECT {AutoresponderColumns} FROM autoresponders WHERE domain_id = $d AND local = $l", ReadAutoresponder,
            ("$d", domainId), ("$l", local)).FirstOrDefault();

    public IReadOnlyList<AutoresponderRecord> ListAutoresponders(long domainId) =>
        Query($"SELECT {AutoresponderColumns} FROM autoresponders WHERE domain_id = $d ORDER BY local", ReadAutoresponder, ("$d", domainId));

    public void SetAutoresponder(AutoresponderRecord record, int? maxPerDomain) => Write((c, tx) =>
    {
        var a = record;
        if (maxPerDomain is { } most
            && Scalar(c, tx, "SELECT 1 FROM autoresponders WHERE domain_id = $d AND local = $l", ("$d", a.DomainId), ("$l", a.Local)) is null
            && Convert.ToInt64(Scalar(c, tx, "SELECT COUNT(*) FROM autoresponders WHERE domain_id = $d", ("$d", a.DomainId))) >= most)
            throw new AccountException(AccountError.LimitReached, $"limit reached: the domain allows at most {most} autoresponders");
        Exec(c, tx, $"""
            INSERT INTO autoresponders({AutoresponderColumns}) VALUES ($d, $l, $s, $b, $start, $end, $i, $del, $now)
            ON CONFLICT(domain_id, local) DO UPDATE SET subject = excluded.subject, body = excluded.body,
                starts_at = excluded.starts_at, ends_at = excluded.ends_at, interval_days = excluded.interval_days,
                deliver = excluded.deliver, updated_at = excluded.updated_at
            """,
            ("$d", a.DomainId), ("$l", a.Local), ("$s", a.Subject), ("$b", a.Body), ("$start", a.StartsAt?.ToUnixTimeSeconds()),
            ("$end", a.EndsAt?.ToUnixTimeSeconds()), ("$i", a.IntervalDays), ("$del", a.Deliver ? 1 : 0), ("$now", Now()));
    });

    public bool DeleteAutoresponder(long domainId, string local) => Write((c, tx) => DeleteAutoresponderRows(c, tx, domainId, local) > 0);

    /// <summary>The record and its memory of senders; the number of records removed.</summary>
    private int DeleteAutoresponderRows(DbConnection c, DbTransaction tx, long domainId, string local)
    {
        Exec(c, tx, "DELETE FROM autoresponder_replies WHERE domain_id = $d AND local = $l", ("$d", domainId), ("$l", local));
        return Exec(c, tx, "DELETE FROM autoresponders WHERE domain_id = $d AND local = $l", ("$d", domainId), ("$l", local));
    }

    public bool TryRecordReply(long domainId, string local, string sender, DateTimeOffset now, DateTimeOffset until, int cleanupBatch)
    {
        var recorded = false;
        // Not a change any cache holds (no generation bump), but fsynced like one: the record is
        // what keeps a crash from answering twice (docs/autoresponder.md, "A crash").
        using var c = Open();
        using var tx = BeginWrite(c, WriteKind.Uncounted);
        var t = now.ToUnixTimeSeconds();
        // Bounded: at most cleanupBatch expired rows per reply, oldest first, so no write is unbounded.
        Exec(c, tx, """
            DELETE FROM autoresponder_replies WHERE id IN
                (SELECT id FROM autoresponder_replies WHERE expires_at <= $now ORDER BY expires_at LIMIT $n)
            """, ("$now", t), ("$n", cleanupBatch));
        recorded = Exec(c, tx, """
            INSERT INTO autoresponder_replies(domain_id, local, sender, replied_at, expires_at) VALUES ($d, $l, $s, $now, $until)
            ON CONFLICT(domain_id, local, sender) DO UPDATE SET replied_at = excluded.replied_at, expires_at = excluded.expires_at
                WHERE autoresponder_replies.expires_at <= excluded.replied_at
            """, ("$d", domainId), ("$l", local), ("$s", sender), ("$now", t), ("$until", until.ToUnixTimeSeconds())) > 0;
        tx.Commit();
        return recorded;
    }

    public int CountRememberedSenders(long domainId, string local, DateTimeOffset now)
    {
        using var c = Open();
        return Convert.ToInt32(Scalar(c, null, "SELECT COUNT(*) FROM autoresponder_replies WHERE domain_id = $d AND local = $l AND expires_at > $now",
            ("$d", domainId), ("$l", local), ("$now", now.ToUnixTimeSeconds())));
    }
}
