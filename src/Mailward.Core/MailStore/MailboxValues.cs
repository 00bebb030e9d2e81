// What a STORE asks of a mailbox and what it answers (RFC 9051 §6.4.6; RFC 7162 §3.1.3
// UNCHANGEDSINCE and the MODIFIED set), and UID ranges for VANISHED (RFC 7162 §3.2.10).
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

/// <summary>UIDs First..Last, both included.</summary>
public readonly record struct UidRange(uint First, uint Last);
