// Node identity on PostgreSQL (docs/multi-node.md "Node identity"): a live node holds a session
// advisory lock, keyed by its row's id, on a connection of its own for as long as it runs. A second
// process with the same Node:Id cannot take it and refuses to start; a node killed with SIGKILL
// loses its connection and so its lock at once. When PostgreSQL restarts the lock goes with the
// connection: a watchdog takes it again as soon as the server is back (with this process's cluster
// locks), and says so if another process took the id meanwhile.
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Mailward.Core.Accounts.Postgres;

public sealed partial class PostgresAccountStore
{
    /// <summary>The first key of every node lock ("Mw" 2); the second is the node's row id.</summary>
    private const int NodeLockClass = 0x4D77_0002;

    /// <summary>How often the node's lock connection is checked.</summary>
    private static readonly TimeSpan NodeCheck = TimeSpan.FromSeconds(2);

    public override INodeClaim ClaimNode(string name, string host, int pid, string version)
    {
        var c = OpenSession();
        try
        {
            var id = NodeRowId(c, name);
            if (!TryNodeLock(c, id))
                throw new NodeInUseException(FindNode(c, id)!);
            return new NodeClaim(this, c, RecordNodeStart(c, id, host, pid, version));
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    private bool TryNodeLock(NpgsqlConnection c, long id) =>
        Scalar(c, null, "SELECT pg_try_advisory_lock(CAST($k AS INTEGER), CAST($id AS INTEGER))", ("$k", NodeLockClass), ("$id", id)) is true;

    /// <summary>The claim: the connection that holds the lock, and its watchdog.</summary>
    private sealed class NodeClaim : INodeClaim
    {
        private readonly PostgresAccountStore _store;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _watch;
        private NpgsqlConnection? _connection;

        /// <summary>Another process holds this node's id (said once, event 1805, until this node holds it again).</summary>
        private bool _lost;

        public NodeClaim(PostgresAccountStore store, NpgsqlConnection connection, NodeRecord node)
        {
            _store = store;
            _connection = connection;
            Node = node;
            _watch = Task.Run(WatchAsync);
        }

        public NodeRecord Node { get; }

        private async Task WatchAsync()
        {
            var ct = _stop.Token;
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(NodeCheck, ct);
                    await KeepNodeLockAsync(ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                try
                {
                    _store.KeepClusterLocks();
                }
                catch (Exception e) when (e is AccountStoreUnavailableException or NpgsqlException or InvalidOperationException)
                {
                    // still away: the held keys are taken again at the next check
                }
            }
        }

        /// <summary>Checks the node's lock connection; when it is gone, takes the lock again on a new one.</summary>
        private async Task KeepNodeLockAsync(CancellationToken ct)
        {
            try
            {
                if (_connection is { } c)
                {
                    await using var cmd = new NpgsqlCommand("SELECT 1", c);
                    await cmd.ExecuteScalarAsync(ct);
                    return;
                }
                var fresh = _store.OpenSession();
                if (_store.TryNodeLock(fresh, Node.Id))
                {
                    _connection = fresh;
                    NodeLockRetaken(_store._log, Node.Name);
                    _lost = false;
                }
                else
                {
                    await fresh.DisposeAsync();
                    if (!_lost)
                        NodeLockTaken(_store._log, Node.Name);
                    _lost = true;
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested && e is NpgsqlException or AccountStoreUnavailableException or InvalidOperationException)
            {
                // The connection, and with it the lock, is gone (PostgreSQL restarting): take it again when it is back.
                if (_connection is { } broken)
                {
                    NodeLockLost(_store._log, Node.Name, e.Message);
                    await broken.DisposeAsync();
                    _connection = null;
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            try
            {
                _watch.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // the watchdog's end is not the caller's error
            }
            _connection?.Dispose(); // the session ends: PostgreSQL releases the lock
            _stop.Dispose();
        }
    }

    [LoggerMessage(EventId = 1803, Level = LogLevel.Warning, Message = "node {Node}: lost its lock with the account store connection ({Error}); taking it again when PostgreSQL is back")]
    private static partial void NodeLockLost(ILogger logger, string node, string error);

    [LoggerMessage(EventId = 1804, Level = LogLevel.Information, Message = "node {Node}: holds its lock again")]
    private static partial void NodeLockRetaken(ILogger logger, string node);

    [LoggerMessage(EventId = 1805, Level = LogLevel.Error, Message = "node {Node}: another process took this node id while the account store was away; give each node its own Node:Id")]
    private static partial void NodeLockTaken(ILogger logger, string node);
}
