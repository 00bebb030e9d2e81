// Exclusive mailbox locks (POP3's maildrop lock, RFC 1939 §8) behind an interface: files in the
// Maildir today (MaildirLocks, docs/mail-store.md "The POP3 lock"), advisory locks of a shared
// database when the accounts move there.
namespace Mailward.Core.MailStore.Locks;

public interface IMailboxLocks
{
    /// <summary>
    /// Takes the owner's lock for <paramref name="session"/>; null when a live holder has it. A lock
    /// of another node counts as live until it is <paramref name="staleAfter"/> old.
    /// </summary>
    Task<IMailboxLock?> TryAcquireAsync(MailboxOwner owner, string session, TimeSpan staleAfter, CancellationToken ct = default);
}

public interface IMailboxLock : IDisposable
{
    /// <summary>Tells other nodes the holder is still there (cheap: at most one write a minute).</summary>
    void Touch();
}
