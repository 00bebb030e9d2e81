// The POP3 lock when the accounts live in PostgreSQL (docs/mail-store.md "The POP3 lock", docs/
// multi-node.md): a cluster lock keyed by the Maildir, held on this node's lock connection, so a
// session on another node gets [IN-USE] and a node killed with SIGKILL frees its mailboxes at once
// (no stale time). Within this process the held mailboxes are kept in memory, since an advisory
// lock is the connection's and would let a second session of the same node in.
using System.Collections.Concurrent;
using Mailward.Core.Accounts;

namespace Mailward.Core.MailStore.Locks;

public sealed class ClusterMailboxLocks(IClusterLocks cluster) : IMailboxLocks
{
    private readonly IClusterLocks _cluster = cluster;
    private readonly ConcurrentDictionary<long, string> _here = new();

    /// <summary>The cluster key of a mailbox: its Maildir's place in the mail store.</summary>
    public static long KeyOf(MailboxOwner owner) => ClusterLockKeys.Of("pop3", owner.Directory);

    /// <inheritdoc />
    /// <remarks><paramref name="staleAfter"/> has no use here: a dead holder's lock is gone with its connection.</remarks>
    public Task<IMailboxLock?> TryAcquireAsync(MailboxOwner owner, string session, TimeSpan staleAfter, CancellationToken ct = default) =>
        Task.Run<IMailboxLock?>(() => TryAcquire(KeyOf(owner), session), ct);

    private Held? TryAcquire(long key, string session)
    {
        if (!_here.TryAdd(key, session))
            return null; // a session of this node has it
        try
        {
            if (_cluster.TryLock(key))
                return new Held(this, key);
        }
        catch
        {
            _here.TryRemove(key, out _);
            throw;
        }
        _here.TryRemove(key, out _);
        return null;
    }

    private sealed class Held(ClusterMailboxLocks owner, long key) : IMailboxLock
    {
        private int _released;

        public void Touch()
        {
            // nothing to refresh: the lock lives as long as this node's connection
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
                return;
            try
            {
                owner._cluster.Unlock(key);
            }
            finally
            {
                owner._here.TryRemove(key, out _);
            }
        }
    }
}
