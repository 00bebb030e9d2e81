// IAccountStore on SQLite in WAL mode: one file, readers never wait for the writer. Every write
// transaction bumps the change counter (meta.generation) that a CachedAccountDirectory in front of
// this store watches, and raises Changed for the caches of this process. The store itself caches
// nothing: its lookups always read the database.
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Mailward.Core.Accounts;

public sealed partial class SqliteAccountStore : IAccountStore
{
    private readonly string _connectionString;
    private readonly TimeProvider _time;
    private readonly SqliteReaders _readers;

    public SqliteAccountStore(string connectionString, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder(connectionString)
        {
            Pooling = true,
            DefaultTimeout = 30, // seconds a writer waits on a busy database before failing
        }.ToString();
        CreatePrivate(new SqliteConnectionStringBuilder(connectionString).DataSource);
        Migrate();
        _readers = new SqliteReaders(_connectionString);
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

    private void Migrate()
    {
        using var c = Open();
        Exec(c, null, "PRAGMA journal_mode=WAL");
        Exec(c, null, "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
        var current = Convert.ToInt32(Scalar(c, null, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
        var latest = Schema.Migrations[^1].Version;
        if (current > latest)
            throw new AccountException(AccountError.StorageFailed, $"the account store has schema version {current}, newer than this program knows ({latest}); upgrade mailward");
        foreach (var (version, sql) in Schema.Migrations.Where(m => m.Version > current))
        {
            using var tx = c.BeginTransaction(deferred: false);
            Exec(c, tx, sql);
            Exec(c, tx, "INSERT INTO schema_migrations(version, applied_at) VALUES ($v, $t)", ("$v", version), ("$t", Now()));
            tx.Commit();
        }
    }

    /// <summary>
    /// A new database file is made 0600 before SQLite opens it (an empty file is an empty database):
    /// it holds password hashes, and SQLite gives its -wal and -shm files the same mode.
    /// </summary>
    private static void CreatePrivate(string source)
    {
        if (source.Length == 0 || source == ":memory:" || source.StartsWith("file:", StringComparison.Ordinal) || File.Exists(source))
            return;
        try
        {
            using var _ = new FileStream(source, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(source))
        {
            // another process made it first
        }
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeSeconds();

    private static DateTimeOffset FromUnix(long t) => DateTimeOffset.FromUnixTimeSeconds(t);

    /// <summary>Runs <paramref name="work"/> in a write transaction that also bumps the change counter.</summary>
    private T Write<T>(Func<SqliteConnection, SqliteTransaction, T> work)
    {
        using var c = Open();
        Exec(c, null, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
        using var tx = c.BeginTransaction(deferred: false);
        try
        {
            var result = work(c, tx);
            Exec(c, tx, "UPDATE meta SET value = value + 1 WHERE key = 'generation'");
            tx.Commit();
            return result;
        }
        catch (SqliteException e) when (IsUniqueViolation(e))
        {
            // A write that met a uniqueness constraint without a more specific answer: "exists", not a failure.
            throw new AccountException(e.Message.Contains(" users.", StringComparison.Ordinal) ? AccountError.UserExists : AccountError.DomainExists,
                $"already exists: {e.Message}");
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19) // SQLITE_CONSTRAINT: a foreign key or NOT NULL
        {
            throw new AccountException(AccountError.StorageFailed, $"account store constraint failed: {e.Message}");
        }
        finally
        {
            Changed?.Invoke();
        }
    }

    /// <summary>SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_PRIMARYKEY: the row exists.</summary>
    private static bool IsUniqueViolation(SqliteException e) => e.SqliteExtendedErrorCode is 2067 or 1555;

    /// <summary>
    /// A write that changes nothing the caches hold (last logins, roaming grants): no change-counter
    /// bump, so the read caches of every process stay warm, and synchronous=NORMAL (WAL): a power
    /// cut may lose the last such write, never corrupt the store.
    /// </summary>
    private void QuietWrite(Action<SqliteConnection, SqliteTransaction> work)
    {
        using var c = Open();
        Exec(c, null, "PRAGMA synchronous=NORMAL");
        using var tx = c.BeginTransaction(deferred: false);
        work(c, tx);
        tx.Commit();
    }

    private void Write(Action<SqliteConnection, SqliteTransaction> work) => Write<int>((c, tx) =>
    {
        work(c, tx);
        return 0;
    });

    /// <inheritdoc />
    public event Action? Changed;

    public ValueTask<long> ReadChangeCounterAsync(CancellationToken ct = default) =>
        new(_readers.Read(r => Convert.ToInt64(r.Command("SELECT value FROM meta WHERE key = 'generation'").ExecuteScalar())));

    /// <summary>A hot-path query on a pooled reader with a prepared statement.</summary>
    private List<T> HotQuery<T>(string sql, Func<DbDataReader, T> map, params (string, object?)[] args) => _readers.Read(reader =>
    {
        using var r = reader.Command(sql, args).ExecuteReader();
        var list = new List<T>();
        while (r.Read())
            list.Add(map(r));
        return list;
    });

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static int Exec(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteScalar();
    }

    private static List<T> Query<T>(SqliteConnection c, SqliteTransaction? tx, string sql, Func<DbDataReader, T> map, params (string, object?)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        var list = new List<T>();
        while (r.Read())
            list.Add(map(r));
        return list;
    }

    private List<T> Query<T>(string sql, Func<DbDataReader, T> map, params (string, object?)[] args)
    {
        using var c = Open();
        return Query(c, null, sql, map, args);
    }

    /// <summary>The WHERE condition of a keyset page over <paramref name="key"/>: after the cursor, and containing the search.</summary>
    private static string PageFilter(string key, PageRequest page) =>
        $"($after IS NULL OR {key} > $after) AND ($search IS NULL OR {key} LIKE $search ESCAPE '\\')";

    /// <summary>
    /// Runs a page query (its SQL uses $after, $search and $limit): one row more than the page
    /// holds tells whether a next page exists; the cursor is the last item's key.
    /// </summary>
    private Page<T> Paged<T>(PageRequest page, string sql, Func<DbDataReader, T> map, Func<T, string> key, params (string, object?)[] args)
    {
        var size = page.Size;
        var rows = Query(sql, map, [.. args, ("$after", page.After), ("$search", page.LikePattern), ("$limit", size + 1)]);
        if (rows.Count <= size)
            return new Page<T>(rows, null);
        rows.RemoveAt(size);
        return new Page<T>(rows, key(rows[^1]));
    }

    private static int? NullableInt(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt32(i);
    private static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    public void Dispose()
    {
        // Open connections hold the file; release them so the folder can be removed.
        _readers.Dispose();
        SqliteConnection.ClearAllPools();
    }
}
