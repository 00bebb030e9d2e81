// What a STORE asks of a mailbox and what it answers (RFC 9051 §6.4.6; RFC 7162 §3.1.3
// UNCHANGEDSINCE and the MODIFIED set), UID ranges for VANISHED (RFC 7162 §3.2.10), what a COPY
// or MOVE gave (RFC 4315 COPYUID), and quota roots (RFC 9208).
namespace Mailward.Core.MailStore;

/// <summary>FLAGS (replace), +FLAGS (add), -FLAGS (remove).</summary>
public enum FlagChangeMode
{
    Replace,
    Add,
    Remove,
}

/// <summary>One STORE's change: system flags and keywords to set, add or remove.</summary>
public sealed record FlagChange(FlagChangeMode Mode, MessageFlags Flags, IReadOnlyCollection<string> Keywords);

/// <summary>
/// The outcome of one STORE: <see cref="Changed"/> got the new mod-sequence, <see cref="Unchanged"/>
/// already had the asked flags (their mod-sequence stays), <see cref="Modified"/> failed
/// UNCHANGEDSINCE and were left alone. UIDs of the set that are gone appear in none of them.
/// </summary>
public sealed record StoreResult(IReadOnlyList<MailboxEntry> Changed, IReadOnlyList<MailboxEntry> Unchanged, IReadOnlyList<uint> Modified);

/// <summary>
/// What a COPY or MOVE of a UID set gave (UIDPLUS COPYUID, RFC 4315 §3): the target's UIDVALIDITY and
/// each source UID with its new UID there, in source UID order; UIDs that were gone are left out.
/// </summary>
public sealed record TransferResult(uint UidValidity, IReadOnlyList<(uint Source, uint Target)> Uids);

/// <summary>UIDs First..Last, both included.</summary>
public readonly record struct UidRange(uint First, uint Last);

/// <summary>
/// One quota root of an owner (RFC 9208 §5): its limit and usage in bytes and messages (0 in a limit:
/// none on that resource). IMAP reports STORAGE in units of 1,024 bytes (§5.1) and MESSAGE as a count (§5.2).
/// </summary>
public sealed record QuotaRoot(string Name, Accounts.Quota Limit, Accounts.Quota Usage)
{
    /// <summary>Would <paramref name="bytes"/> more in <paramref name="messages"/> more messages pass a limit?</summary>
    public bool Exceeded(long bytes, long messages) =>
        Limit.Bytes > 0 && Usage.Bytes + bytes > Limit.Bytes || Limit.Messages > 0 && Usage.Messages + messages > Limit.Messages;
}
