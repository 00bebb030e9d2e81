// The SQLite provider of the SQL account store: one file in WAL mode, readers never wait for the
// writer; SQLite serializes writers (BEGIN IMMEDIATE), which is what keeps limits checked inside a
// write transaction exact.
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Mailward.Core.Accounts;

public sealed class SqliteAccountStore : SqlAccountStore
{
    private readonly string _connectionString;
    private readonly SqliteReaders _readers;

    public SqliteAccountStore(string connectionString, TimeProvider? time = null) : base(time)
    {
        _connectionString = new SqliteConnectionStringBuilder(connectionString)
        {
            Pooling = true,
            DefaultTimeout = 30, // seconds a writer waits on a busy database before failing
        }.ToString();
        CreatePrivate(new SqliteConnectionStringBuilder(connectionString).DataSource);
        Migrate();
        _readers = new SqliteReaders(_connectionString);
    }

    private void Migrate()
    {
        using var c = (SqliteConnection)Open();
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";
            cmd.ExecuteNonQuery();
        }
        ApplyMigrations(c, c => BeginWrite(c, WriteKind.Counted), sql => sql);
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

    protected override DbConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }

    /// <summary>
    /// BEGIN IMMEDIATE: the write lock at once. Counted and uncounted writes fsync (synchronous=FULL);
    /// quiet ones use synchronous=NORMAL (WAL), which may lose the last write in a power cut, never
    /// corrupt the store.
    /// </summary>
    protected override DbTransaction BeginWrite(DbConnection c, WriteKind kind)
    {
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = kind switch
            {
                WriteKind.Counted => "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
                WriteKind.Quiet => "PRAGMA synchronous=NORMAL",
                _ => "PRAGMA synchronous=FULL",
            };
            cmd.ExecuteNonQuery();
        }
        return ((SqliteConnection)c).BeginTransaction(deferred: false);
    }

    /// <summary>A hot-path query on a pooled reader with a prepared statement.</summary>
    protected override List<T> HotQuery<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] args) => _readers.Read(reader =>
    {
        using var r = reader.Command(sql, args).ExecuteReader();
        var list = new List<T>();
        while (r.Read())
            list.Add(map(r));
        return list;
    });

    protected override bool SearchTables => true;

    // The trigram search tables (migrations 12, 13) and FTS5's shadow tables behind them are an index
    // over users, domains and aliases, rebuilt by their triggers wherever the rows go: not data to copy.
    protected override string TablesQuery =>
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name NOT GLOB 'users_search*' AND name NOT GLOB 'domains_search*' AND name NOT GLOB 'aliases_search*'";

    /// <summary>SQLITE_CONSTRAINT_UNIQUE or SQLITE_CONSTRAINT_PRIMARYKEY: the row exists.</summary>
    protected override bool IsUniqueViolation(DbException e, out string? table)
    {
        table = e.Message.Contains(" users.", StringComparison.Ordinal) ? "users" : null;
        return e is SqliteException { SqliteExtendedErrorCode: 2067 or 1555 };
    }

    /// <summary>SQLITE_CONSTRAINT: a foreign key or NOT NULL.</summary>
    protected override bool IsConstraintViolation(DbException e) => e is SqliteException { SqliteErrorCode: 19 };

    protected override void Dispose(bool disposing)
    {
        // Open connections hold the file; release them so the folder can be removed.
        _readers.Dispose();
        SqliteConnection.ClearAllPools();
    }
}
