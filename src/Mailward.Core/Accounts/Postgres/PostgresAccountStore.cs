// The PostgreSQL provider of the SQL account store (Accounts:Provider=postgres), for several nodes
// on one store. Npgsql's pool serves every connection; the hot-path statements are prepared
// automatically once used (Max Auto Prepare). Counted writes take one transaction-scoped advisory
// lock, so they run one at a time across all nodes as SQLite's writers do (limits checked inside a
// write stay exact), and NOTIFY the other nodes, whose read caches drop their answers at once; the
// change counter stays the fallback (polled every Accounts:CacheCheckMilliseconds). Multi-host
// connection strings (Host=a,b;Target Session Attributes=primary) pass through to Npgsql.
using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Mailward.Core.Accounts.Postgres;

public sealed partial class PostgresAccountStore : SqlAccountStore
{
    /// <summary>The channel counted writes NOTIFY and read caches LISTEN on.</summary>
    public const string ChangeChannel = "mailward_accounts";

    /// <summary>The advisory lock every counted write and every migration holds until it commits ("Mw" 1).</summary>
    private const long WriteLockKey = 0x4D77_0001;

    private readonly NpgsqlDataSource _data;

    /// <summary>
    /// Connections that hold session advisory locks (the node's id, cluster locks) are never pooled:
    /// closing one ends its session, and so its locks, at once.
    /// </summary>
    private readonly NpgsqlDataSource _sessions;
    private ILogger _log;
    private volatile bool _listening;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private Task? _listener;

    /// <summary>This object's name in its notifications, so it does not count its own writes twice.</summary>
    private readonly string _instance = Guid.NewGuid().ToString("N");

    public PostgresAccountStore(string connectionString, TimeProvider? time = null, ILogger? logger = null) : base(time)
    {
        _log = logger ?? NullLogger.Instance;
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            // Statements used twice on a connection are prepared there and stay prepared: the
            // lookups that miss the cache cost a bind and an execute, no parse or plan.
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }
        _data = NpgsqlDataSource.Create(builder);
        _sessions = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false });
        Migrate();
    }

    private void Migrate()
    {
        using var c = Open();
        ApplyMigrations(c, c =>
        {
            var tx = c.BeginTransaction();
            // Nodes starting together: one migrates, the others wait and then find nothing to do.
            Exec(c, tx, $"SELECT pg_advisory_xact_lock({WriteLockKey})");
            Exec(c, tx, "CREATE TABLE IF NOT EXISTS schema_migrations(version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)");
            return tx;
        }, PostgresDialect.Migration);
    }

    private static void Exec(DbConnection c, DbTransaction tx, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        try
        {
            cmd.ExecuteNonQuery();
        }
        catch (NpgsqlException e) when (IsUnreachable(e))
        {
            throw Unavailable(e);
        }
    }

    protected override DbConnection Open()
    {
        try
        {
            return _data.OpenConnection();
        }
        catch (NpgsqlException e) when (IsUnreachable(e))
        {
            throw Unavailable(e);
        }
    }

    /// <summary>A connection of its own, outside the pool, for session advisory locks.</summary>
    private NpgsqlConnection OpenSession()
    {
        try
        {
            return _sessions.OpenConnection();
        }
        catch (NpgsqlException e) when (IsUnreachable(e))
        {
            throw Unavailable(e);
        }
    }

    protected override bool IsUnavailable(DbException e) => e is NpgsqlException n && IsUnreachable(n);

    /// <summary>
    /// The server cannot be reached or is going away: any error of Npgsql's own (a refused or broken
    /// connection, a timeout, an exhausted pool), and the server's connection_exception (08),
    /// insufficient_resources (53: too many connections) and operator_intervention (57P01-57P03: a
    /// shutdown or a server still starting). An error in a statement is none of these.
    /// </summary>
    internal static bool IsUnreachable(NpgsqlException e) => e is not PostgresException p
        || p.SqlState.StartsWith("08", StringComparison.Ordinal)
        || p.SqlState.StartsWith("53", StringComparison.Ordinal)
        || p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow;

    /// <summary>
    /// Counted writes hold the advisory lock (serialized across nodes, READ COMMITTED then sees every
    /// earlier write); quiet ones commit without waiting for the WAL flush (synchronous_commit off:
    /// a crash may lose the last ones, never corrupt); uncounted ones commit durably.
    /// </summary>
    protected override DbTransaction BeginWrite(DbConnection c, WriteKind kind)
    {
        var tx = c.BeginTransaction();
        switch (kind)
        {
            case WriteKind.Counted:
                Exec(c, tx, $"SELECT pg_advisory_xact_lock({WriteLockKey})");
                break;
            case WriteKind.Quiet:
                Exec(c, tx, "SET LOCAL synchronous_commit = off");
                break;
        }
        return tx;
    }

    /// <summary>Tells the other nodes' caches; PostgreSQL delivers the notification when the write commits.</summary>
    protected override void BeforeCommit(DbConnection c, DbTransaction tx) => Exec(c, tx, $"NOTIFY {ChangeChannel}, '{_instance}'");

    protected override List<T> HotQuery<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] args)
    {
        try
        {
            using var c = _data.OpenConnection();
            using var cmd = c.CreateCommand();
            cmd.CommandText = Dialect(sql);
            foreach (var (name, value) in args)
                AddParameter(cmd, name, value);
            using var r = cmd.ExecuteReader();
            var list = new List<T>();
            while (r.Read())
                list.Add(map(r));
            return list;
        }
        catch (NpgsqlException e) when (IsUnreachable(e))
        {
            throw Unavailable(e);
        }
    }

    protected override string Dialect(string sql) => PostgresDialect.Statement(sql);

    protected override void AddParameter(DbCommand cmd, string name, object? value) =>
        cmd.Parameters.Add(new NpgsqlParameter(PostgresDialect.ParameterName(name), value ?? DBNull.Value));

    protected override string TablesQuery => "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()";

    protected override DbTransaction BeginSnapshot(DbConnection c) => c.BeginTransaction(System.Data.IsolationLevel.RepeatableRead);

    /// <summary>Rows copied with their ids: each identity column continues after the largest (a text id, as an API key's, has none).</summary>
    protected override void AfterCopy(DbConnection c, DbTransaction tx, IReadOnlyList<string> tablesWithId)
    {
        foreach (var table in tablesWithId)
        {
            if (Scalar(c, tx, $"SELECT pg_get_serial_sequence('{table}', 'id')") is not string sequence)
                continue;
            Exec(c, tx, $"SELECT setval('{sequence}', COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)");
        }
    }

    /// <summary>unique_violation (SQLSTATE 23505): the row exists.</summary>
    protected override bool IsUniqueViolation(DbException e, out string? table)
    {
        table = (e as PostgresException)?.TableName;
        return e is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
    }

    /// <summary>Any other integrity constraint (class 23: a foreign key, NOT NULL, a check).</summary>
    protected override bool IsConstraintViolation(DbException e) => e is PostgresException p && p.SqlState.StartsWith("23", StringComparison.Ordinal);

    /// <summary>A read cache listens: from now on hear of other nodes' writes (one connection, LISTEN).</summary>
    protected override void OnChangedSubscribed()
    {
        lock (_gate)
            _listener ??= Task.Run(ListenAsync);
    }

    /// <summary>
    /// Waits for notifications on its own connection and raises Changed for each other store's
    /// write; when the connection is lost, connects again a second later.
    /// </summary>
    private async Task ListenAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var c = await _data.OpenConnectionAsync(ct);
                c.Notification += (_, e) =>
                {
                    if (e.Payload != _instance)
                        RaiseChanged();
                };
                await using (var cmd = new NpgsqlCommand($"LISTEN {ChangeChannel}", c))
                    await cmd.ExecuteNonQueryAsync(ct);
                // Writes missed while not listening are caught by the change counter the caches poll.
                _listening = true;
                Listening(_log, ChangeChannel);
                while (true)
                    await c.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or IOException)
            {
                _listening = false;
                ListenFailed(_log, e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Where the listener's lines go (events 1800-1801); may be set after the store is open.</summary>
    public ILogger Logger
    {
        get => _log;
        set
        {
            _log = value;
            if (_listening)
                Listening(value, ChangeChannel);
        }
    }

    private int _disposed;

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _stop.Cancel();
        lock (_locksGate)
            DropLockConnection();
        try
        {
            _listener?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // the listener's end is not the caller's error
        }
        _data.Dispose();
        _sessions.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 1800, Level = LogLevel.Information, Message = "accounts listening for other nodes' changes on channel {Channel}")]
    private static partial void Listening(ILogger logger, string channel);

    [LoggerMessage(EventId = 1801, Level = LogLevel.Warning, Message = "accounts change notifications lost ({Error}); the caches fall back to the change counter until the connection is back")]
    private static partial void ListenFailed(ILogger logger, string error);
}
