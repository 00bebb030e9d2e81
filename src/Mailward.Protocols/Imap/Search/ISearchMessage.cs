// The facts about one message that SEARCH, SORT and THREAD look at (RFC 9051 §6.4.4, RFC 5256).
// The session implements it over its mailbox view and the structure cache; the search components
// never touch the store themselves.
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap.Search;

public interface ISearchMessage
{
    /// <summary>The message sequence number in the selected mailbox (1-based).</summary>
    uint Sequence { get; }

    uint Uid { get; }

    MessageFlags Flags { get; }

    IReadOnlyList<string> Keywords { get; }

    /// <summary>RFC822.SIZE: the size with CRLF line ends, as FETCH reports it.</summary>
    long Size { get; }

    DateTimeOffset InternalDate { get; }

    /// <summary>The message's mod-sequence (RFC 7162 §3.1.1); 0 when the mailbox keeps none.</summary>
    ulong ModSeq { get; }

    /// <summary>
    /// The raw bodies of every top-level header field with this name (case-insensitive), in message
    /// order, as they are in the message: not yet decoded from RFC 2047, possibly folded; 8-bit bytes
    /// as UTF-8. Empty when the message has no such field. Called often: back it with a cache.
    /// </summary>
    IReadOnlyList<string> HeaderValues(string name);

    /// <summary>Opens the raw message (LF or CRLF line ends) for BODY and TEXT; the caller disposes it.</summary>
    ValueTask<Stream> OpenAsync(CancellationToken ct);
}

/// <summary>What a search needs about the mailbox rather than a message.</summary>
/// <param name="MessageCount">The number of messages: "*" in a sequence set (RFC 9051 §9).</param>
/// <param name="LargestUid">The largest UID in the mailbox: "*" in a UID set.</param>
/// <param name="ServerZone">The zone in which BEFORE, ON and SINCE read the internal date (RFC 9051 §6.4.4 "disregarding time and timezone" is read as the server's day); null: the machine's local zone.</param>
/// <param name="SavedUids">The SEARCHRES result "$" stands for (RFC 5182 §2.1); null when nothing was saved.</param>
public sealed record SearchContext(uint MessageCount, uint LargestUid, TimeZoneInfo? ServerZone = null, IReadOnlySet<uint>? SavedUids = null)
{
    internal TimeZoneInfo Zone => ServerZone ?? TimeZoneInfo.Local;
}
