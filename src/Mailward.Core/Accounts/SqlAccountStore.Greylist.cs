// Greylisting's state in the SQL account store (tables of schema version 5, docs/mail-auth.md): one row
// per client network, sender and recipient, and one per client network that has passed. Writes are
// quiet (no change-counter bump: nothing the account caches hold changes).
using System.Data.Common;
using Mailward.Core.Greylist;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore : IGreylistStore
{
    /// <summary>A network's passes count at most once in this time (postgrey: one attempt per hour), so one burst does not allow it.</summary>
    private const long PassCountSeconds = 3600;

    public GreylistAnswer CheckGreylist(GreylistTriplet triplet, DateTimeOffset now, GreylistOptions options) => QuietWrite((c, tx) =>
    {
        var s = now.ToUnixTimeSeconds();
        var expired = s - (long)options.Expiry.TotalSeconds;
        if (options.AutoAllowAfter > 0 && Query(c, tx, "SELECT passes, last_seen FROM greylist_clients WHERE client = $c",
                r => (Passes: r.GetInt64(0), Last: r.GetInt64(1)), ("$c", triplet.Client)) is [var known] && known.Passes >= options.AutoAllowAfter && known.Last > expired)
        {
            Exec(c, tx, "UPDATE greylist_clients SET last_seen = $now WHERE client = $c", ("$c", triplet.Client), ("$now", s));
            return new GreylistAnswer(true, TimeSpan.Zero, "allowed");
        }
        (string, object?)[] key = [("$c", triplet.Client), ("$s", triplet.Sender), ("$r", triplet.Recipient), ("$now", s)];
        var row = Query(c, tx, "SELECT first_seen, last_seen, passed FROM greylist_triplets WHERE client = $c AND sender = $s AND recipient = $r",
            r => (First: r.GetInt64(0), Last: r.GetInt64(1), Passed: r.GetInt64(2) != 0), key).FirstOrDefault();
        var fresh = row == default || row.Last <= expired || (!row.Passed && s - row.First > (long)options.RetryWindow.TotalSeconds);
        if (fresh)
        {
            Exec(c, tx, """
                INSERT INTO greylist_triplets(client, sender, recipient, first_seen, last_seen, passed) VALUES ($c, $s, $r, $now, $now, 0)
                ON CONFLICT(client, sender, recipient) DO UPDATE SET first_seen = $now, last_seen = $now, passed = 0
                """, key);
            return new GreylistAnswer(false, options.Delay, "first");
        }
        if (!row.Passed && s - row.First < (long)options.Delay.TotalSeconds)
        {
            Exec(c, tx, "UPDATE greylist_triplets SET last_seen = $now WHERE client = $c AND sender = $s AND recipient = $r", key);
            return new GreylistAnswer(false, TimeSpan.FromSeconds((long)options.Delay.TotalSeconds - (s - row.First)), "early");
        }
        Exec(c, tx, "UPDATE greylist_triplets SET passed = 1, last_seen = $now WHERE client = $c AND sender = $s AND recipient = $r", key);
        Exec(c, tx, """
            INSERT INTO greylist_clients(client, passes, last_seen, counted_at) VALUES ($c, 1, $now, $now)
            ON CONFLICT(client) DO UPDATE SET
                passes = CASE WHEN greylist_clients.last_seen <= $expired THEN 1
                              WHEN $now - greylist_clients.counted_at >= $every THEN greylist_clients.passes + 1 ELSE greylist_clients.passes END,
                counted_at = CASE WHEN greylist_clients.last_seen <= $expired OR $now - greylist_clients.counted_at >= $every THEN $now ELSE greylist_clients.counted_at END,
                last_seen = $now
            """, ("$c", triplet.Client), ("$now", s), ("$expired", expired), ("$every", PassCountSeconds));
        return new GreylistAnswer(true, TimeSpan.Zero, row.Passed ? "known" : "retried");
    });

    public int CleanGreylist(DateTimeOffset now, GreylistOptions options) => QuietWrite((c, tx) =>
    {
        var s = now.ToUnixTimeSeconds();
        var expired = s - (long)options.Expiry.TotalSeconds;
        var retry = s - (long)options.RetryWindow.TotalSeconds;
        // Each statement removes at most CleanupRows rows, so a cleanup never holds the store for long.
        return Exec(c, tx, "DELETE FROM greylist_triplets WHERE rowid IN (SELECT rowid FROM greylist_triplets WHERE last_seen <= $e LIMIT $n)",
                   ("$e", expired), ("$n", options.CleanupRows))
               + Exec(c, tx, "DELETE FROM greylist_triplets WHERE rowid IN (SELECT rowid FROM greylist_triplets WHERE passed = 0 AND first_seen < $r LIMIT $n)",
                   ("$r", retry), ("$n", options.CleanupRows))
               + Exec(c, tx, "DELETE FROM greylist_clients WHERE rowid IN (SELECT rowid FROM greylist_clients WHERE last_seen <= $e LIMIT $n)",
                   ("$e", expired), ("$n", options.CleanupRows));
    });

    /// <summary>As QuietWrite, with a result.</summary>
    private T QuietWrite<T>(Func<DbConnection, DbTransaction, T> work)
    {
        var result = default(T)!;
        QuietWrite((c, tx) => { result = work(c, tx); });
        return result;
    }
}
