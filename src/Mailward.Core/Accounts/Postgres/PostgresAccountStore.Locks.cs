// IClusterLocks on PostgreSQL: session advisory locks (the bigint key space) on one connection of
// this process, opened at the first lock. When that connection is lost (PostgreSQL restarting) the
// server has dropped its locks: the next lock opens a new connection and takes the held keys again
// first (the node's watchdog sees to it within seconds of the server's return), so a session that
// outlived the outage keeps its mailbox unless another node took it meanwhile (event 1806).
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Mailward.Core.Accounts.Postgres;

public sealed partial class PostgresAccountStore : IClusterLocks
{
    private readonly Lock _locksGate = new();
    private readonly HashSet<long> _heldLocks = [];
    private NpgsqlConnection? _lockConnection;

    public bool TryLock(long key)
    {
        lock (_locksGate)
        {
            var c = LockConnection();
            try
            {
                if (Scalar(c, null, "SELECT pg_try_advisory_lock($k)", ("$k", key)) is not true)
                    return false;
            }
            catch (AccountStoreUnavailableException)
            {
                DropLockConnection();
                throw;
            }
            _heldLocks.Add(key);
            return true;
        }
    }

    public void Unlock(long key)
    {
        lock (_locksGate)
        {
            if (!_heldLocks.Remove(key) || _lockConnection is not { } c)
                return;
            if (c.State != System.Data.ConnectionState.Open)
            {
                DropLockConnection(); // gone with the connection anyway
                return;
            }
            try
            {
                Scalar(c, null, "SELECT pg_advisory_unlock($k)", ("$k", key));
            }
            catch (AccountStoreUnavailableException)
            {
                DropLockConnection(); // gone with the connection anyway
            }
        }
    }

    /// <summary>
    /// Checks the connection holding this process's locks and, when it broke (PostgreSQL restarted),
    /// takes the held keys again on a new one, so a POP3 session that outlived an outage excludes
    /// other nodes again as soon as the server is back, not only at this node's next lock. The
    /// node's watchdog calls it every check.
    /// </summary>
    /// <exception cref="AccountStoreUnavailableException">The store cannot be reached now.</exception>
    internal void KeepClusterLocks()
    {
        lock (_locksGate)
        {
            if (_heldLocks.Count == 0)
                return;
            if (_lockConnection is { State: System.Data.ConnectionState.Open } c)
            {
                try
                {
                    Scalar(c, null, "SELECT 1");
                    return;
                }
                catch (AccountStoreUnavailableException)
                {
                    DropLockConnection(); // its locks went with it
                }
            }
            LockConnection();
        }
    }

    /// <summary>The connection that holds this process's locks; a new one takes the held keys again.</summary>
    private NpgsqlConnection LockConnection()
    {
        if (_lockConnection is { State: System.Data.ConnectionState.Open } c)
            return c;
        DropLockConnection();
        c = OpenSession();
        try
        {
            foreach (var key in _heldLocks.ToList())
            {
                if (Scalar(c, null, "SELECT pg_try_advisory_lock($k)", ("$k", key)) is not true)
                {
                    _heldLocks.Remove(key);
                    ClusterLockLost(_log, key);
                }
            }
        }
        catch
        {
            c.Dispose();
            throw;
        }
        return _lockConnection = c;
    }

    private void DropLockConnection()
    {
        _lockConnection?.Dispose();
        _lockConnection = null;
    }

    [LoggerMessage(EventId = 1806, Level = LogLevel.Warning, Message = "cluster lock {Key} was taken by another node while the account store was away; its holder here no longer excludes that node")]
    private static partial void ClusterLockLost(ILogger logger, long key);
}
