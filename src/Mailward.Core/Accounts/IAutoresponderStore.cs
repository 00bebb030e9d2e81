// The admin writes and lists of the autoresponder aggregate, and the once-per-sender memory that
// delivery asks before answering (docs/autoresponder.md). An autoresponder belongs to an address
// (a user's or an alias's local part in a domain) and goes when its address goes.
namespace Mailward.Core.Accounts;

public interface IAutoresponderStore
{
    /// <summary>The autoresponder of <paramref name="local"/> in the domain, or null.</summary>
    AutoresponderRecord? FindAutoresponder(long domainId, string local);

    IReadOnlyList<AutoresponderRecord> ListAutoresponders(long domainId);

    /// <summary>
    /// Adds or replaces the whole record. A new one past <paramref name="maxPerDomain"/> (the domain's
    /// MaxAutoresponders; null: no limit) fails with LimitReached, checked inside the write.
    /// </summary>
    void SetAutoresponder(AutoresponderRecord record, int? maxPerDomain);

    /// <summary>Removes it and its memory of senders; false when there was none.</summary>
    bool DeleteAutoresponder(long domainId, string local);

    /// <summary>
    /// The once-per-sender check and record in one statement: true (and <paramref name="sender"/> is
    /// remembered until <paramref name="until"/>) when it was not answered after an earlier record
    /// expired; false when it was. Also removes at most <paramref name="cleanupBatch"/> expired rows.
    /// </summary>
    bool TryRecordReply(long domainId, string local, string sender, DateTimeOffset now, DateTimeOffset until, int cleanupBatch);

    /// <summary>Senders answered and still remembered at <paramref name="now"/> (for `vacation show` and tests).</summary>
    int CountRememberedSenders(long domainId, string local, DateTimeOffset now);
}
