// The nodes that serve this account store (docs/multi-node.md "Node identity"): a row per Node:Id
// with its last start (host, process id, version). On PostgreSQL a live node also holds a session
// advisory lock on its row's id (Postgres/PostgresAccountStore.Nodes.cs), so a second live process
// with the same id refuses to start, and a killed node's lock goes with its connection at once.
using System.Data.Common;

namespace Mailward.Core.Accounts;

/// <summary>A node as the store knows it: its last start.</summary>
public sealed record NodeRecord(long Id, string Name, string Host, int Pid, string Version, DateTimeOffset StartedAt);

/// <summary>This process's claim on its node id, held until disposed.</summary>
public interface INodeClaim : IDisposable
{
    NodeRecord Node { get; }
}

/// <summary>Another live process holds the node id (its last recorded start says which).</summary>
public sealed class NodeInUseException(NodeRecord holder)
    : Exception($"node id {holder.Name} is in use by a live process (pid {holder.Pid} on {holder.Host}, started {holder.StartedAt:yyyy-MM-dd HH:mm:ss}Z); give each node its own Node:Id")
{
    public NodeRecord Holder { get; } = holder;
}

public abstract partial class SqlAccountStore
{
    /// <summary>Every node that ever started on this store, by name.</summary>
    public IReadOnlyList<NodeRecord> ListNodes() => Query("SELECT id, name, host, pid, version, started_at FROM nodes ORDER BY name", ReadNode);

    /// <summary>
    /// Claims <paramref name="name"/> for this process and records its start. On SQLite a data
    /// folder is one node, so recording is all; PostgreSQL also takes the node's lock.
    /// </summary>
    public virtual INodeClaim ClaimNode(string name, string host, int pid, string version)
    {
        using var c = Open();
        return new RecordedNode(RecordNodeStart(c, NodeRowId(c, name), host, pid, version));
    }

    /// <summary>The id of the node's row, made if missing (two nodes making it at once get the same row).</summary>
    protected long NodeRowId(DbConnection c, string name)
    {
        Exec(c, null, "INSERT INTO nodes(name, host, pid, version, started_at) VALUES ($n, '', 0, '', 0) ON CONFLICT(name) DO NOTHING", ("$n", name));
        return Convert.ToInt64(Scalar(c, null, "SELECT id FROM nodes WHERE name = $n", ("$n", name)));
    }

    /// <summary>Writes this start into the node's row (durably: it names the holder in a refusal).</summary>
    protected NodeRecord RecordNodeStart(DbConnection c, long id, string host, int pid, string version)
    {
        using (var tx = BeginWrite(c, WriteKind.Uncounted))
        {
            Exec(c, tx, "UPDATE nodes SET host = $h, pid = $p, version = $v, started_at = $t WHERE id = $id",
                ("$h", host), ("$p", pid), ("$v", version), ("$t", Now()), ("$id", id));
            tx.Commit();
        }
        return FindNode(c, id)!;
    }

    /// <summary>The node's row as last written.</summary>
    protected NodeRecord? FindNode(DbConnection c, long id) =>
        Query(c, null, "SELECT id, name, host, pid, version, started_at FROM nodes WHERE id = $id", ReadNode, ("$id", id)).FirstOrDefault();

    private static NodeRecord ReadNode(DbDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), r.GetString(2), Convert.ToInt32(r.GetValue(3)), r.GetString(4), FromUnix(r.GetInt64(5)));

    /// <summary>A start recorded where nothing else must be held (SQLite).</summary>
    private sealed class RecordedNode(NodeRecord node) : INodeClaim
    {
        public NodeRecord Node { get; } = node;

        public void Dispose()
        {
        }
    }
}
