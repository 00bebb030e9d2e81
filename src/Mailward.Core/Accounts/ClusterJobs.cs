// Background work that must run on one node at a time (docs/multi-node.md "Per-cluster jobs"): a
// run takes the job's cluster lock (kind `job`, the job's name) and skips when another node, or
// another thread of this process, runs the job now. Without cluster locks (SQLite: one node) only
// the in-process guard applies.
using System.Collections.Concurrent;

namespace Mailward.Core.Accounts;

public sealed class ClusterJobs(IClusterLocks? cluster)
{
    private readonly ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);

    /// <summary>The jobs of a store: its cluster locks when it has them (PostgreSQL).</summary>
    public static ClusterJobs For(object store) => new(store as IClusterLocks);

    /// <summary>Runs <paramref name="work"/> unless the job <paramref name="job"/> runs elsewhere now; true when it ran here.</summary>
    /// <exception cref="AccountStoreUnavailableException">The store cannot be reached to take the job's lock.</exception>
    public bool TryRun(string job, Action work)
    {
        if (!_running.TryAdd(job, 0))
            return false; // this process runs it (an advisory lock is reentrant on its connection)
        try
        {
            var key = ClusterLockKeys.Of("job", job);
            if (cluster is not null && !cluster.TryLock(key))
                return false;
            try
            {
                work();
            }
            finally
            {
                cluster?.Unlock(key);
            }
            return true;
        }
        finally
        {
            _running.TryRemove(job, out _);
        }
    }

    /// <summary>The same for work that awaits (the lock is the process's connection's, whichever thread goes on).</summary>
    /// <exception cref="AccountStoreUnavailableException">The store cannot be reached to take the job's lock.</exception>
    public async Task<bool> TryRunAsync(string job, Func<Task> work)
    {
        if (!_running.TryAdd(job, 0))
            return false;
        try
        {
            var key = ClusterLockKeys.Of("job", job);
            if (cluster is not null && !cluster.TryLock(key))
                return false;
            try
            {
                await work();
            }
            finally
            {
                cluster?.Unlock(key);
            }
            return true;
        }
        finally
        {
            _running.TryRemove(job, out _);
        }
    }
}
