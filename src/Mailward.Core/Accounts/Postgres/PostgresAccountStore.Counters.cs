// ISharedCounters on PostgreSQL (schema migration 10): the login throttles' fixed-window counters
// and the sending limits' events, one statement each, so every node counts every node's failures and
// messages. Rows are locked in one order everywhere (a pair's counter, then its client's, then the
// account's), so concurrent logins never deadlock; the writes that add rows remove a bounded batch
// of expired ones (SKIP LOCKED: two nodes cleaning never wait on each other). Quiet writes
// (synchronous_commit off): a crash may forget the last counts, never corrupt the store.
using Npgsql;

namespace Mailward.Core.Accounts.Postgres;

public sealed partial class PostgresAccountStore : ISharedCounters
{
    /// <summary>Expired rows one adding write removes at most: the tables shrink as fast as they grow, no write waits long.</summary>
    private const int ExpiredPerWrite = 100;

    public IReadOnlyList<long> Counts(IReadOnlyList<CounterKey> keys, DateTimeOffset now, TimeSpan window)
    {
        if (keys.Count == 0)
            return [];
        var found = Run(cmd =>
        {
            cmd.CommandText = """
                SELECT k.i, c.count FROM unnest(@kinds, @keys) WITH ORDINALITY AS k(kind, key, i)
                JOIN shared_counters c ON c.kind = k.kind AND c.key = k.key AND c.since >= @cutoff
                """;
            cmd.Parameters.AddWithValue("kinds", keys.Select(k => k.Kind).ToArray());
            cmd.Parameters.AddWithValue("keys", keys.Select(k => k.Key).ToArray());
            cmd.Parameters.AddWithValue("cutoff", Ms(now - window));
            using var r = cmd.ExecuteReader();
            var counts = new Dictionary<long, long>();
            while (r.Read())
                counts[r.GetInt64(0)] = r.GetInt64(1);
            return counts;
        });
        return [.. Enumerable.Range(1, keys.Count).Select(i => found.GetValueOrDefault(i))];
    }

    public void Increment(IReadOnlyList<CounterKey> keys, DateTimeOffset now, TimeSpan window)
    {
        if (keys.Count == 0)
            return;
        Run(cmd =>
        {
            // A counter whose window has passed starts again at 1, as the in-process throttle's do.
            cmd.CommandText = $"""
                SET LOCAL synchronous_commit = off;
                INSERT INTO shared_counters(kind, key, count, since, expires_at)
                    SELECT kind, key, 1, @now, @expires FROM unnest(@kinds, @keys) WITH ORDINALITY AS k(kind, key, i) ORDER BY i
                ON CONFLICT(kind, key) DO UPDATE SET
                    count = CASE WHEN shared_counters.since < @cutoff THEN 1 ELSE shared_counters.count + 1 END,
                    expires_at = CASE WHEN shared_counters.since < @cutoff THEN @expires ELSE shared_counters.expires_at END,
                    since = CASE WHEN shared_counters.since < @cutoff THEN @now ELSE shared_counters.since END;
                DELETE FROM shared_counters WHERE ctid IN
                    (SELECT ctid FROM shared_counters WHERE expires_at < @now LIMIT {ExpiredPerWrite} FOR UPDATE SKIP LOCKED);
                """;
            cmd.Parameters.AddWithValue("kinds", keys.Select(k => k.Kind).ToArray());
            cmd.Parameters.AddWithValue("keys", keys.Select(k => k.Key).ToArray());
            cmd.Parameters.AddWithValue("now", Ms(now));
            cmd.Parameters.AddWithValue("cutoff", Ms(now - window));
            cmd.Parameters.AddWithValue("expires", Ms(now + window));
            return cmd.ExecuteNonQuery();
        }, transaction: true);
    }

    public void TakeBack(CounterKey removed, CounterKey reduced, DateTimeOffset now, TimeSpan window) => Run(cmd =>
    {
        cmd.CommandText = """
            WITH own AS (DELETE FROM shared_counters WHERE kind = @rk AND key = @rkey
                         RETURNING CASE WHEN since >= @cutoff THEN count ELSE 0 END AS n)
            UPDATE shared_counters SET count = GREATEST(count - (SELECT COALESCE(SUM(n), 0) FROM own), 0)
            WHERE kind = @dk AND key = @dkey AND EXISTS (SELECT 1 FROM own WHERE n > 0)
            """;
        cmd.Parameters.AddWithValue("rk", removed.Kind);
        cmd.Parameters.AddWithValue("rkey", removed.Key);
        cmd.Parameters.AddWithValue("dk", reduced.Kind);
        cmd.Parameters.AddWithValue("dkey", reduced.Key);
        cmd.Parameters.AddWithValue("cutoff", Ms(now - window));
        return cmd.ExecuteNonQuery();
    });

    public int CountEvents(CounterKey key, DateTimeOffset since, int atMost) => Run(cmd =>
    {
        // At most atMost rows are read: a limit's check costs the same whatever a sender sent.
        cmd.CommandText = "SELECT COUNT(*) FROM (SELECT 1 FROM shared_events WHERE kind = @k AND key = @key AND at > @since LIMIT @n) AS recent";
        cmd.Parameters.AddWithValue("k", key.Kind);
        cmd.Parameters.AddWithValue("key", key.Key);
        cmd.Parameters.AddWithValue("since", Ms(since));
        cmd.Parameters.AddWithValue("n", (long)atMost);
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    });

    public void AddEvents(CounterKey key, IReadOnlyList<DateTimeOffset> at, TimeSpan keep)
    {
        if (at.Count == 0)
            return;
        Run(cmd =>
        {
            cmd.CommandText = $"""
                SET LOCAL synchronous_commit = off;
                INSERT INTO shared_events(kind, key, at, expires_at) SELECT @k, @key, t, t + @keep FROM unnest(@at) AS t;
                DELETE FROM shared_events WHERE ctid IN
                    (SELECT ctid FROM shared_events WHERE expires_at < @now LIMIT {ExpiredPerWrite} FOR UPDATE SKIP LOCKED);
                """;
            cmd.Parameters.AddWithValue("k", key.Kind);
            cmd.Parameters.AddWithValue("key", key.Key);
            cmd.Parameters.AddWithValue("at", at.Select(Ms).ToArray());
            cmd.Parameters.AddWithValue("keep", (long)keep.TotalMilliseconds);
            cmd.Parameters.AddWithValue("now", Ms(at.Max()));
            return cmd.ExecuteNonQuery();
        }, transaction: true);
    }

    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    /// <summary>Runs one command on a pooled connection (in a transaction when asked); an unreachable server is AccountStoreUnavailableException.</summary>
    private T Run<T>(Func<NpgsqlCommand, T> work, bool transaction = false)
    {
        try
        {
            using var c = _data.OpenConnection();
            using var tx = transaction ? c.BeginTransaction() : null;
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            var result = work(cmd);
            tx?.Commit();
            return result;
        }
        catch (NpgsqlException e) when (IsUnreachable(e))
        {
            throw Unavailable(e);
        }
    }
}
