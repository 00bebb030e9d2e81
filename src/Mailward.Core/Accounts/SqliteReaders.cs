// A small pool of open read connections, each with the hot-path statements prepared once, so a
// lookup that misses the cache costs one prepared query instead of a connection open and a parse.
// WAL mode lets these readers run beside the writer without waiting.
using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Mailward.Core.Accounts;

internal sealed class SqliteReaders(string connectionString, int maxIdle = 16) : IDisposable
{
    private readonly ConcurrentBag<Reader> _idle = [];

    internal sealed class Reader : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

        public Reader(string connectionString)
        {
            _connection = new SqliteConnection(connectionString);
            _connection.Open();
            // Memory-mapped reads skip a read() per page, and a larger page cache keeps the indexes
            // of a large store resident: lookups stay flat as the store grows.
            using var pragma = _connection.CreateCommand();
            pragma.CommandText = "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -32768";
            pragma.ExecuteNonQuery();
        }

        /// <summary>The prepared command for <paramref name="sql"/>, with its parameters set.</summary>
        public SqliteCommand Command(string sql, params (string Name, object? Value)[] args)
        {
            if (!_commands.TryGetValue(sql, out var cmd))
            {
                cmd = _connection.CreateCommand();
                cmd.CommandText = sql;
                foreach (var (name, _) in args)
                    cmd.Parameters.Add(new SqliteParameter { ParameterName = name });
                cmd.Prepare();
                _commands[sql] = cmd;
            }
            foreach (var (name, value) in args)
                cmd.Parameters[name].Value = value ?? DBNull.Value;
            return cmd;
        }

        public void Dispose()
        {
            foreach (var c in _commands.Values)
                c.Dispose();
            _connection.Dispose();
        }
    }

    public T Read<T>(Func<Reader, T> read)
    {
        if (!_idle.TryTake(out var reader))
            reader = new Reader(connectionString);
        try
        {
            return read(reader);
        }
        catch
        {
            reader.Dispose();
            reader = null;
            throw;
        }
        finally
        {
            if (reader is not null)
            {
                if (_idle.Count < maxIdle)
                    _idle.Add(reader);
                else
                    reader.Dispose();
            }
        }
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var r))
            r.Dispose();
    }
}
