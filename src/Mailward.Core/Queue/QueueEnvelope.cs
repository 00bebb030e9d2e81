// What the queue keeps about a message besides its bytes: sender, recipients and where it came
// from. The same envelope serves every producer (SMTP, sendmail, bounces, forwards, lists).
namespace Mailward.Core.Queue;

public sealed record QueueEnvelope(
    string Sender,
    IReadOnlyList<string> Recipients,
    string ClientAddress,
    string ClientHelo,
    string Protocol,
    string AuthenticatedUser = "")
{
    /// <summary>The null sender (RFC 5321 §4.5.5): bounces and other mail no one may reply to.</summary>
    public bool IsNullSender => Sender.Length == 0;
}

public enum RecipientOutcome : byte
{
    Delivered = 1,
    Bounced = 2,   // failed for good; reported in the message's DSN
    Dropped = 3,   // failed for good and reported to no one (a failed double bounce)
}

/// <summary>One queued message as the index knows it: envelope, arrival, where the body lives, the top fields decided at the end of DATA, what is done.</summary>
public sealed record QueuedMessage(
    string QueueId,
    DateTimeOffset ArrivedAt,
    QueueEnvelope Envelope,
    long BodyLength,
    QueueBodyLocation Body,
    IReadOnlyDictionary<int, RecipientOutcome> Done,
    IReadOnlyDictionary<int, RecipientReport>? Reasons = null,
    string? Problem = null,
    byte[]? TopFields = null)
{
    /// <summary>The message as delivered: the top fields (docs/queue-format.md), then the body.</summary>
    public long MessageLength => BodyLength + (TopFields?.Length ?? 0);

    /// <summary>Set when the body cannot be trusted (its file missing or mis-sized): the message is held, not delivered.</summary>
    public bool Held => Problem is not null;

    public IEnumerable<int> PendingRecipients => Enumerable.Range(0, Envelope.Recipients.Count).Where(i => !Done.ContainsKey(i));

    /// <summary>Why a recipient failed (the remote reply or the local reason), kept for the DSN.</summary>
    public string ReasonFor(int recipient) => ReportFor(recipient).Reason;

    public RecipientReport ReportFor(int recipient) => Reasons is not null && Reasons.TryGetValue(recipient, out var r) ? r : RecipientReport.None;
}

/// <summary>
/// What a recipient-done record keeps for the DSN: the reason as logged, the RFC 3463 status code
/// decided where the failure happened, and the remote MTA and its reply when one answered. Records
/// written before codes existed have only the reason.
/// </summary>
public sealed record RecipientReport(string Reason, string Code = "", string RemoteMta = "", string RemoteReply = "")
{
    public static readonly RecipientReport None = new("");

    public bool IsEmpty => Reason.Length == 0 && Code.Length == 0 && RemoteMta.Length == 0 && RemoteReply.Length == 0;
}

/// <summary>Inline bodies live in a segment at an offset; larger ones in body/ID.</summary>
public sealed record QueueBodyLocation(string? SegmentPath, long Offset, string? FilePath);
