// IAccountStore over SQL, shared by the providers (SqliteAccountStore, Postgres/PostgresAccountStore):
// the aggregates' queries are written once, in the SQL both dialects accept, with $name parameters;
// a provider opens connections, begins the kinds of write transaction, runs the hot-path reads on
// prepared statements and names its constraint errors. Every counted write bumps the change counter
// (meta.generation) that a CachedAccountDirectory in front of the store watches, and raises Changed
// for the caches of this process. The store itself caches nothing: its lookups always read the database.
using System.Data.Common;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore : IAccountStore
{
    private readonly TimeProvider _time;

    protected SqlAccountStore(TimeProvider? time) => _time = time ?? TimeProvider.System;

    /// <summary>The kinds of write transaction a provider begins.</summary>
    protected enum WriteKind
    {
        /// <summary>Changes what the caches hold: durable, serialized with every other counted write, bumps the change counter.</summary>
        Counted,
        /// <summary>Changes nothing cached (last logins, roaming grants, greylisting): the last one may be lost in a power cut.</summary>
        Quiet,
        /// <summary>Changes nothing cached, but must survive a crash (an autoresponder's memory of a reply).</summary>
        Uncounted,
    }

    /// <summary>An open connection to the store.</summary>
    protected abstract DbConnection Open();

    /// <summary>Begins a write transaction of the kind on <paramref name="c"/>.</summary>
    protected abstract DbTransaction BeginWrite(DbConnection c, WriteKind kind);

    /// <summary>Runs a hot-path query on a prepared statement; <paramref name="sql"/> is in the shared dialect.</summary>
    protected abstract List<T> HotQuery<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] args);

    /// <summary>The statement as the provider runs it (the shared dialect in, the provider's out).</summary>
    protected virtual string Dialect(string sql) => sql;

    /// <summary>Adds a parameter named as in the shared dialect ($name).</summary>
    protected virtual void AddParameter(DbCommand cmd, string name, object? value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
    }

    /// <summary>A uniqueness constraint met: the row exists. <paramref name="table"/> names its table when known.</summary>
    protected abstract bool IsUniqueViolation(DbException e, out string? table);

    /// <summary>Another constraint met (a foreign key, NOT NULL).</summary>
    protected abstract bool IsConstraintViolation(DbException e);

    /// <summary>
    /// The store cannot be reached now (a connection refused or lost, a server restarting): the
    /// helpers turn such an error into an AccountStoreUnavailableException, a temporary failure.
    /// </summary>
    protected virtual bool IsUnavailable(DbException e) => false;

    /// <summary>The temporary failure that <paramref name="e"/> means.</summary>
    protected static AccountStoreUnavailableException Unavailable(Exception e) => new(e.Message, e);

    /// <summary>Called inside a counted write just before it commits (PostgreSQL tells the other nodes).</summary>
    protected virtual void BeforeCommit(DbConnection c, DbTransaction tx)
    {
    }

    /// <summary>The applied schema version (for `mailward` diagnostics and tests).</summary>
    public int SchemaVersion
    {
        get
        {
            using var c = Open();
            return Convert.ToInt32(Scalar(c, null, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
        }
    }

    /// <summary>
    /// Applies the migrations the store has not recorded yet, in order of version, each in its own transaction begun by
    /// <paramref name="begin"/>, each statement translated by <paramref name="translate"/> (the
    /// migration list is one; the dialects differ in a few words, see Schema).
    /// </summary>
    protected void ApplyMigrations(DbConnection c, Func<DbConnection, DbTransaction> begin, Func<string, string> translate)
    {
        using (var tx = begin(c))
        {
            var current = Convert.ToInt32(Scalar(c, tx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
            var latest = Schema.Migrations.Max(m => m.Version);
            if (current > latest)
                throw new AccountException(AccountError.StorageFailed, $"the account store has schema version {current}, newer than this program knows ({latest}); upgrade mailward");
            // Every step not recorded yet, not only those above the highest: numbers are reserved ahead
            // of landing, so a store may have met a later step before an earlier one was written.
            var applied = Query(c, tx, "SELECT version FROM schema_migrations", r => Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
            foreach (var (version, sql) in Schema.Migrations.Where(m => !applied.Contains(m.Version)).OrderBy(m => m.Version))
            {
                Exec(c, tx, translate(sql));
                Exec(c, tx, "INSERT INTO schema_migrations(version, applied_at) VALUES ($v, $t)", ("$v", version), ("$t", Now()));
            }
            tx.Commit();
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeSeconds();

    private static DateTimeOffset FromUnix(long t) => DateTimeOffset.FromUnixTimeSeconds(t);

    /// <summary>Runs <paramref name="work"/> in a counted write transaction (it bumps the change counter).</summary>
    private T Write<T>(Func<DbConnection, DbTransaction, T> work)
    {
        using var c = Open();
        using var tx = BeginWrite(c, WriteKind.Counted);
        try
        {
            var result = work(c, tx);
            Exec(c, tx, "UPDATE meta SET value = value + 1 WHERE key = 'generation'");
            BeforeCommit(c, tx);
            tx.Commit();
            return result;
        }
        catch (DbException e) when (IsUniqueViolation(e, out var table))
        {
            // A write that met a uniqueness constraint without a more specific answer: "exists", not a failure.
            throw new AccountException(table == "users" ? AccountError.UserExists : AccountError.DomainExists, $"already exists: {e.Message}");
        }
        catch (DbException e) when (IsConstraintViolation(e))
        {
            throw new AccountException(AccountError.StorageFailed, $"account store constraint failed: {e.Message}");
        }
        catch (DbException e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
        finally
        {
            RaiseChanged();
        }
    }

    private bool IsUniqueViolation(DbException e) => IsUniqueViolation(e, out _);

    /// <summary>
    /// A write that changes nothing the caches hold (last logins, roaming grants): no change-counter
    /// bump, so the read caches of every process stay warm, and relaxed durability: a power cut may
    /// lose the last such write, never corrupt the store.
    /// </summary>
    private void QuietWrite(Action<DbConnection, DbTransaction> work)
    {
        try
        {
            using var c = Open();
            using var tx = BeginWrite(c, WriteKind.Quiet);
            work(c, tx);
            tx.Commit();
        }
        catch (DbException e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    private void Write(Action<DbConnection, DbTransaction> work) => Write<int>((c, tx) =>
    {
        work(c, tx);
        return 0;
    });

    private readonly Lock _changedGate = new();
    private Action? _changed;

    /// <inheritdoc />
    public event Action? Changed
    {
        add
        {
            lock (_changedGate)
                _changed += value;
            OnChangedSubscribed();
        }
        remove
        {
            lock (_changedGate)
                _changed -= value;
        }
    }

    /// <summary>Someone (a read cache) listens to Changed: a provider may start hearing of other nodes' writes.</summary>
    protected virtual void OnChangedSubscribed()
    {
    }

    /// <summary>Raises Changed (also for a provider that hears of another node's write).</summary>
    protected void RaiseChanged() => _changed?.Invoke();

    public ValueTask<long> ReadChangeCounterAsync(CancellationToken ct = default) =>
        new(HotQuery("SELECT value FROM meta WHERE key = 'generation'", r => r.GetInt64(0))[0]);

    private DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = Dialect(sql);
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
            AddParameter(cmd, name, value);
        return cmd;
    }

    private int Exec(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        try
        {
            return cmd.ExecuteNonQuery();
        }
        catch (DbException e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    protected object? Scalar(DbConnection c, DbTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        try
        {
            return cmd.ExecuteScalar();
        }
        catch (DbException e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    private List<T> Query<T>(DbConnection c, DbTransaction? tx, string sql, Func<DbDataReader, T> map, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        try
        {
            using var r = cmd.ExecuteReader();
            var list = new List<T>();
            while (r.Read())
                list.Add(map(r));
            return list;
        }
        catch (DbException e) when (IsUnavailable(e))
        {
            throw Unavailable(e);
        }
    }

    private List<T> Query<T>(string sql, Func<DbDataReader, T> map, params (string, object?)[] args)
    {
        using var c = Open();
        return Query(c, null, sql, map, args);
    }

    /// <summary>
    /// The WHERE condition of a keyset page over <paramref name="key"/>: after the cursor, and
    /// containing the search; only the conditions the page has. Not "($after IS NULL OR key >
    /// $after)": neither SQLite nor a generic PostgreSQL plan can turn that OR into a range of the
    /// index, so the page after the middle of 100,000 users walked the 50,000 entries before it.
    /// </summary>
    private static string PageFilter(string key, PageRequest page) =>
        (page.After, page.LikePattern) switch
        {
            (null, null) => "1 = 1",
            (_, null) => $"{key} > $after",
            (null, _) => $"{key} LIKE $search ESCAPE '\\'",
            _ => $"{key} > $after AND {key} LIKE $search ESCAPE '\\'",
        };

    /// <summary>
    /// Whether the store has the trigram search tables of migration 12 (SQLite's FTS5 users_search
    /// and domains_search). PostgreSQL's pg_trgm indexes serve the LIKE itself and need no other query.
    /// </summary>
    protected virtual bool SearchTables => false;

    /// <summary>How many index entries after the cursor a search reads before it asks the trigram table.</summary>
    private const int SearchWindow = 1000;

    /// <summary>
    /// A page of a contains-search over <paramref name="table"/> (users or domains) in two steps, on
    /// a store with the trigram tables and a text of 3 characters or more. First the next
    /// <see cref="SearchWindow"/> entries of the sorted index: a text most entries contain fills the
    /// page there (the trigram lookup would read every match to sort them). Else the trigram table
    /// names the candidates, joined first (CROSS JOIN keeps SQLite from walking the index and probing
    /// them), sorted and paged: the cost follows the matches, not the domain's size. The LIKE stays
    /// in both as the exact test, so the results are the LIKE's to the character.
    /// </summary>
    /// <param name="select">The SELECT list; <paramref name="joins"/>: the JOINs after the searched table.</param>
    /// <param name="scope">The extra condition on the searched table (the domain of a user list), or null.</param>
    private Page<T> Searched<T>(PageRequest page, string table, string alias, string key, string select, string joins, string? scope,
        Func<DbDataReader, T> map, Func<T, string> keyOf, params (string, object?)[] args)
    {
        var where = scope is null ? "" : scope + " AND ";
        var plain = $"{select} FROM {table} {alias} {joins} WHERE {where}{PageFilter($"{alias}.{key}", page)} ORDER BY {alias}.{key} LIMIT $limit";
        if (!SearchTables || page.TrigramPhrase is not { } phrase)
            return Paged(page, plain, map, keyOf, args);
        var inner = (scope is null ? "" : scope.Replace($"{alias}.", "", StringComparison.Ordinal) + " AND ") + (page.After is null ? "1 = 1" : $"{key} > $after");
        var window = Paged(page,
            $"{select} FROM {table} {alias} {joins} WHERE {alias}.id IN (SELECT id FROM {table} WHERE {inner} ORDER BY {key} LIMIT $window) "
            + $"AND {alias}.{key} LIKE $search ESCAPE '\\' ORDER BY {alias}.{key} LIMIT $limit",
            map, keyOf, [.. args, ("$window", SearchWindow)]);
        if (window.Next is not null)
            return window;
        return Paged(page,
            $"{select} FROM {table}_search CROSS JOIN {table} {alias} ON {alias}.id = {table}_search.rowid {joins} "
            + $"WHERE {table}_search MATCH $phrase AND {where}{PageFilter($"{alias}.{key}", page)} ORDER BY {alias}.{key} LIMIT $limit",
            map, keyOf, [.. args, ("$phrase", phrase)]);
    }

    /// <summary>
    /// Runs a page query (its SQL uses $after, $search and $limit): one row more than the page
    /// holds tells whether a next page exists; the cursor is the last item's key.
    /// </summary>
    private Page<T> Paged<T>(PageRequest page, string sql, Func<DbDataReader, T> map, Func<T, string> key, params (string, object?)[] args)
    {
        var size = page.Size;
        // Only the parameters the statement names (PageFilter leaves out the conditions a page lacks).
        (string, object?)[] paging = [("$after", page.After), ("$search", page.LikePattern), ("$limit", size + 1)];
        var rows = Query(sql, map, [.. args, .. paging.Where(p => sql.Contains(p.Item1, StringComparison.Ordinal))]);
        if (rows.Count <= size)
            return new Page<T>(rows, null);
        rows.RemoveAt(size);
        return new Page<T>(rows, key(rows[^1]));
    }

    private static int? NullableInt(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt32(i);
    private static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
