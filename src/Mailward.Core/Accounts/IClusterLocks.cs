// Locks that every node sharing the account store respects (docs/multi-node.md "Cluster locks"):
// PostgreSQL's session advisory locks, held on one connection of this process, so a node killed
// with SIGKILL loses its connection and every lock it held at once. SQLite serves one node and has
// none (its callers keep their single-node behaviour).
using System.Security.Cryptography;
using System.Text;

namespace Mailward.Core.Accounts;

public interface IClusterLocks
{
    /// <summary>Takes <paramref name="key"/> unless another node holds it. Not reentrant across callers: each key is taken once per process by its caller.</summary>
    /// <exception cref="AccountStoreUnavailableException">The store cannot be reached now.</exception>
    bool TryLock(long key);

    /// <summary>Gives <paramref name="key"/> back (nothing when the connection, and so the lock, is already gone).</summary>
    void Unlock(long key);
}

public static class ClusterLockKeys
{
    /// <summary>The 64-bit key of a named thing of a kind ("pop3" and a Maildir, "job" and a job's name): the first 8 bytes of SHA-256 of both.</summary>
    public static long Of(string kind, string name) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(kind + "\0" + name)), 0);
}
