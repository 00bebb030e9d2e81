// The structure of one stored message, computed once (StructureParser) and cached per folder
// (Maildir/StructureCache): every MIME part with its offsets in the file (LF line ends, as stored)
// and its sizes and line counts with CRLF line ends (as IMAP reports them, RFC 9051 §7.5.2), its
// content fields, and the envelope of the message and of each message/rfc822 part. Text values are
// octet strings: each char is one octet of the header (Latin-1 mapping), so 8-bit headers survive
// unchanged and the renderers write them back byte for byte.
namespace Mailward.Core.MailStore.Structure;

public sealed record MessageStructure(BodyPart Root, long Size, long VirtualSize)
{
    /// <summary>
    /// The top-level header fields SEARCH, SORT and THREAD read (RFC 9051 §6.4.4, RFC 5256), kept so
    /// a search reads them from the cache instead of the message file.
    /// </summary>
    public static IReadOnlySet<string> SearchFieldNames { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "In-Reply-To", "References", "Sender", "Reply-To",
    };

    /// <summary>
    /// At most this many octets of search fields are kept; a message with more (a huge address
    /// list) keeps none, and a search reads its header from the file, as for any other field. The
    /// cache's records stay small, and nothing a search sees is ever cut short.
    /// </summary>
    public const int MaxSearchFieldBytes = 64 * 1024;

    /// <summary>
    /// Every top-level field named in <see cref="SearchFieldNames"/>, in message order, its raw value
    /// as octets (one char an octet; folded, not decoded); null when they were not kept (too large,
    /// or a cache record written before they were).
    /// </summary>
    public IReadOnlyList<HeaderField>? SearchFields { get; init; }

    /// <summary>The part that an IMAP section number names ("1.2" is [1, 2]), or null. Empty: the message itself.</summary>
    public BodyPart? Find(ReadOnlySpan<int> section)
    {
        var part = Root;
        var top = true; // part is the top of a message (the file's, or one inside a message/rfc822 part)
        foreach (var n in section)
        {
            // RFC 9051 §6.4.5: the numbers after a message/rfc822 part's go inside its message.
            if (!top && part.Kind == BodyPartKind.Message && part.Message is { } inner)
                (part, top) = (inner, true);
            if (part.Kind == BodyPartKind.Multipart)
            {
                if (n < 1 || n > part.Parts.Count)
                    return null;
                (part, top) = (part.Parts[n - 1], false);
            }
            else if (top && n == 1)
                top = false; // a message that is not multipart has one part, 1: its body
            else
                return null;
        }
        return part;
    }
}

public enum BodyPartKind
{
    /// <summary>A part with content: text, image, ..., and parts beyond a limit (opaque).</summary>
    Leaf,
    Multipart,

    /// <summary>message/rfc822 (or message/global): its body is a message, in Message.</summary>
    Message,
}

/// <summary>A region of the file: where it is on disk and what it measures with CRLF line ends.</summary>
public readonly record struct Region(long Offset, long Length, long Size, int Lines)
{
    public long End => Offset + Length;
}

public sealed record MimeParameter(string Name, string Value);

/// <summary>A header field's name and raw value (octets, one char each).</summary>
public sealed record HeaderField(string Name, string Value);

/// <summary>One MIME entity: a message's top part, a part of a multipart, or the message inside a message/rfc822 part.</summary>
public sealed record BodyPart
{
    public BodyPartKind Kind { get; init; }

    /// <summary>The header with the blank line that ends it (when there is one).</summary>
    public Region Header { get; init; }

    public Region Body { get; init; }

    /// <summary>As written; "text"/"plain" without a Content-Type (RFC 2045 §5.2); a type without a subtype has subtype "" (as Dovecot shows it).</summary>
    public string Type { get; init; } = "text";

    public string Subtype { get; init; } = "plain";

    /// <summary>Content-Type parameters, RFC 2231 continuations joined and charsets decoded (values as UTF-8 octets).</summary>
    public IReadOnlyList<MimeParameter> Parameters { get; init; } = [];

    public string? Id { get; init; }
    public string? Description { get; init; }
    public string? Encoding { get; init; }
    public string? Md5 { get; init; }
    public string? Disposition { get; init; }
    public IReadOnlyList<MimeParameter> DispositionParameters { get; init; } = [];
    public IReadOnlyList<string>? Languages { get; init; }
    public string? Location { get; init; }

    /// <summary>For a message's top part (the file's, or the one inside a message/rfc822 part): its envelope.</summary>
    public Envelope? Envelope { get; init; }

    /// <summary>The parts of a multipart, in order.</summary>
    public IReadOnlyList<BodyPart> Parts { get; init; } = [];

    /// <summary>For a message/rfc822 part: the encapsulated message's top part.</summary>
    public BodyPart? Message { get; init; }
}

/// <summary>
/// RFC 9051 §7.5.2 ENVELOPE: header values as found, folding line breaks included (the writer
/// removes them); encoded words are not decoded, as Dovecot does not.
/// </summary>
public sealed record Envelope(string? Date, string? Subject, IReadOnlyList<EnvelopeAddress>? From, IReadOnlyList<EnvelopeAddress>? Sender,
    IReadOnlyList<EnvelopeAddress>? ReplyTo, IReadOnlyList<EnvelopeAddress>? To, IReadOnlyList<EnvelopeAddress>? Cc,
    IReadOnlyList<EnvelopeAddress>? Bcc, string? InReplyTo, string? MessageId);

/// <summary>
/// One address of an envelope list. A group is a start marker (Mailbox = the group's name, Host
/// null) and an end marker (all null), RFC 9051 §7.5.2.
/// </summary>
public sealed record EnvelopeAddress(string? Name, string? Route, string? Mailbox, string? Host)
{
    public static EnvelopeAddress GroupEnd { get; } = new(null, null, null, null);
}
