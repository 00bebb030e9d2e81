// The mail store as the protocols see it (design.md "The read side"): folders of a mailbox owner,
// and mailboxes with IMAP's model (UIDVALIDITY, UIDNEXT, entries with UIDs, flags, keywords, sizes,
// internal date) that POP3 uses too (its UIDL and sizes). The Maildir implementation is in Maildir/;
// the on-disk formats are in docs/mail-store.md.
namespace Mailward.Core.MailStore;

public interface IMailStore
{
    /// <summary>Opens a folder of the owner ("INBOX" or a name from ListFolders), synchronised once.</summary>
    Task<IMailbox> OpenAsync(MailboxOwner owner, string folder = "INBOX", CancellationToken ct = default);

    /// <summary>Every folder of the owner, INBOX first, hierarchy separated by '/'.</summary>
    Task<IReadOnlyList<string>> ListFoldersAsync(MailboxOwner owner, CancellationToken ct = default);

    Task CreateFolderAsync(MailboxOwner owner, string folder, CancellationToken ct = default);

    Task RenameFolderAsync(MailboxOwner owner, string from, string to, CancellationToken ct = default);

    Task DeleteFolderAsync(MailboxOwner owner, string folder, CancellationToken ct = default);

    Task<IReadOnlyList<string>> SubscriptionsAsync(MailboxOwner owner, CancellationToken ct = default);

    Task SubscribeAsync(MailboxOwner owner, string folder, bool subscribed, CancellationToken ct = default);

    /// <summary>The owner's quota roots with a limit, with their usage (RFC 9208 GETQUOTAROOT; empty: no quota).</summary>
    Task<IReadOnlyList<QuotaRoot>> QuotaAsync(MailboxOwner owner, CancellationToken ct = default);
}

/// <summary>IMAP's system flags (RFC 9051 §2.3.2); Maildir letters S, R, F, T, D. \Recent does not exist in IMAP4rev2.</summary>
[Flags]
public enum MessageFlags
{
    None = 0,
    Seen = 1,
    Answered = 2,
    Flagged = 4,
    Deleted = 8,
    Draft = 16,
}

/// <summary>
/// One message of a mailbox as the protocols see it. Sizes are on disk (LF) and as sent (CRLF); the
/// CRLF size is null until counted (a foreign name without ,W=): <see cref="IMailbox.VirtualSizeOf"/> gives it.
/// </summary>
public sealed record MailboxEntry(uint Uid, MessageFlags Flags, IReadOnlyList<string> Keywords, long Size, long? VirtualSize,
    DateTimeOffset InternalDate, string Pop3Uidl)
{
    /// <summary>The message's mod-sequence (RFC 7162 §3.1.1): raised by every change of its flags or keywords, set at arrival.</summary>
    public ulong ModSeq { get; init; }
}

/// <summary>The keywords set on any message (in order of first use) and the first unseen message's number (index + 1; 0: none).</summary>
public sealed record EntriesSummary(IReadOnlyList<string> Keywords, int FirstUnseen)
{
    public static EntriesSummary Of(IReadOnlyList<MailboxEntry> entries)
    {
        var keywords = new List<string>();
        var firstUnseen = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (firstUnseen == 0 && !e.Flags.HasFlag(MessageFlags.Seen))
                firstUnseen = i + 1;
            // Most messages have none: the empty array is seen without an interface call.
            var kws = e.Keywords;
            if (kws is string[] { Length: 0 } || kws.Count == 0)
                continue;
            foreach (var k in kws)
                if (!keywords.Contains(k, StringComparer.Ordinal))
                    keywords.Add(k);
        }
        return new EntriesSummary(keywords, firstUnseen);
    }
}

/// <summary>What changed since the previous sync of this mailbox object (all of it after a new UIDVALIDITY).</summary>
public sealed record MailboxChanges(IReadOnlyList<MailboxEntry> Added, IReadOnlyList<uint> Expunged, IReadOnlyList<MailboxEntry> FlagsChanged,
    bool UidValidityChanged)
{
    public bool Any => Added.Count > 0 || Expunged.Count > 0 || FlagsChanged.Count > 0 || UidValidityChanged;
}

public interface IMailbox : IDisposable
{
    MailboxOwner Owner { get; }

    string Folder { get; }

    uint UidValidity { get; }

    uint UidNext { get; }

    /// <summary>
    /// HIGHESTMODSEQ (RFC 7162 §3.1.2.1): the entries reflect every change up to it. Set by a sync, and
    /// raised by this object's STORE or EXPUNGE only when no other change came in since its last sync.
    /// </summary>
    ulong HighestModSeq { get; }

    /// <summary>The messages as of the last sync, in UID order.</summary>
    IReadOnlyList<MailboxEntry> Entries { get; }

    /// <summary>
    /// True while <see cref="Entries"/> is a list nobody changes (a kept listing that sessions
    /// share): a reader may hold it without a copy. Otherwise this object's own STORE and EXPUNGE
    /// change the list in place, and a reader that must keep what it saw copies it.
    /// </summary>
    bool EntriesFrozen { get; }

    /// <summary>
    /// Of <see cref="Entries"/> as they are: the keywords in use and the first unseen message. Kept
    /// with a shared listing, so a SELECT of a big folder nobody changed does not walk its messages.
    /// </summary>
    EntriesSummary Summary();

    /// <summary>Reads the folder again: new mail gets UIDs; returns what changed since the last sync.</summary>
    Task<MailboxChanges> SyncAsync(CancellationToken ct = default);

    /// <summary>
    /// The message's size with CRLF line ends (RFC822.SIZE, POP3's LIST): the entry's when known, else
    /// counted from the file once and kept (a listing never reads files for it); 0 when the file is gone.
    /// </summary>
    long VirtualSizeOf(MailboxEntry entry);

    /// <summary>The stored message (LF line ends); null when it is gone.</summary>
    MessageReader? OpenMessage(uint uid);

    /// <summary>The message's MIME structure (ENVELOPE, BODYSTRUCTURE, sections), parsed once and cached per folder; null when it is gone.</summary>
    Task<Structure.MessageStructure?> StructureAsync(uint uid, CancellationToken ct = default);

    /// <summary>
    /// A hint before a command asks for the structures of many messages in this order (a FETCH of
    /// ENVELOPE or BODYSTRUCTURE): a store may read their files ahead meanwhile. Dispose the handle
    /// when the command is done; null when the store does not read ahead.
    /// </summary>
    IDisposable? ReadAhead(IReadOnlyList<uint> uids) => null;

    /// <summary>Sets the flags and keywords of a message (replacing them). False when it is gone.</summary>
    Task<bool> StoreFlagsAsync(uint uid, MessageFlags flags, IReadOnlyCollection<string> keywords, CancellationToken ct = default);

    /// <summary>
    /// One STORE command over a set of UIDs, atomic against other sessions and processes: with
    /// <paramref name="unchangedSince"/> (RFC 7162 §3.1.3) a message whose mod-sequence is above it is
    /// left alone and listed in <see cref="StoreResult.Modified"/>. Changed messages share one new
    /// mod-sequence. UIDs this object does not know (not synced yet) or that are gone are skipped.
    /// </summary>
    Task<StoreResult> StoreAsync(IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, CancellationToken ct = default);

    /// <summary>
    /// The UIDs expunged after <paramref name="modSeq"/> that this object no longer lists (QRESYNC's
    /// VANISHED (EARLIER), RFC 7162 §3.2.5.2); when the folder no longer remembers that far back,
    /// every UID below UIDNEXT that is not listed (§3.2.10 allows UIDs the client never had).
    /// </summary>
    IReadOnlyList<UidRange> ExpungedSince(ulong modSeq);

    /// <summary>Removes these messages; returns how many went (those already gone do not count).</summary>
    Task<int> ExpungeAsync(IEnumerable<uint> uids, CancellationToken ct = default);

    /// <summary>Stores a new message (CRLF or LF line ends) and returns its UID.</summary>
    Task<uint> AppendAsync(Stream message, MessageFlags flags, DateTimeOffset internalDate, CancellationToken ct = default);

    /// <summary>
    /// APPEND (RFC 9051 §6.3.12) with keywords: streamed to disk, durable before it returns (tmp,
    /// fsync, link into cur/ with the flags in the name, fsync the folder); returns its UID (this
    /// object is synced, so UidValidity is the one the UID belongs to, for APPENDUID). Throws
    /// <see cref="MessageTooLargeException"/> past Imap:AppendLimitBytes and
    /// <see cref="MailboxOverQuotaException"/> when a quota root would be exceeded (NO [OVERQUOTA]).
    /// </summary>
    Task<uint> AppendAsync(Stream message, MessageFlags flags, IReadOnlyCollection<string> keywords, DateTimeOffset internalDate, CancellationToken ct = default);

    /// <summary>
    /// COPY of a UID set into another folder of the owner (RFC 9051 §6.4.7, UIDPLUS): each copy is a
    /// new file (a hard link under a new name), with its flags, keywords and internal date. All or
    /// nothing: <see cref="MailboxOverQuotaException"/> before anything is copied when the copies
    /// would exceed a quota root.
    /// </summary>
    Task<TransferResult> CopyAsync(IReadOnlyCollection<uint> uids, string folder, CancellationToken ct = default);

    /// <summary>
    /// MOVE of a UID set (RFC 6851): each file is renamed into the other folder (never in two folders
    /// at once, never lost), then expunged here. Usage does not change, so no quota applies.
    /// </summary>
    Task<TransferResult> MoveAsync(IReadOnlyCollection<uint> uids, string folder, CancellationToken ct = default);

    /// <summary>Copies a message into another folder of the same owner; returns its UID there, or null when it is gone.</summary>
    Task<uint?> CopyAsync(uint uid, string folder, CancellationToken ct = default);

    /// <summary>Moves a message into another folder of the same owner; returns its UID there, or null when it is gone.</summary>
    Task<uint?> MoveAsync(uint uid, string folder, CancellationToken ct = default);
}
