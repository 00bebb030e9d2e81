// The replies of the door policy's refusals, with their RFC 3463 codes; the SMTP session sends
// them as the policy gives them.
namespace Mailward.Core.Policy;

public static class PolicyReplies
{
    public const string InsufficientStorage = "452 4.3.1 Insufficient system storage"; // RFC 1870 §6.1; Postfix's queue_minfree
    public const string MailboxFullAtData = "552 5.2.2 Error: every recipient's mailbox is full for a message this size; discarded";

    public static string SenderRejected(string address) => $"553 5.7.1 <{address}>: Sender address rejected: listed in badmailfrom";
    public static string UserUnknown(string address) => $"550 5.1.1 <{address}>: Recipient address rejected: user unknown";
    public static string RelayDenied(string address) => $"554 5.7.1 <{address}>: Relay access denied";
    public static string MailboxDisabled(string address) => $"550 5.2.1 <{address}>: Recipient address rejected: mailbox disabled";
    public static string MailboxFull(string address) => $"552 5.2.2 <{address}>: Recipient address rejected: mailbox full";

    /// <summary>The account store cannot be reached and the recipient is not in the read cache: try again (RFC 3463 4.3.0).</summary>
    public static string StoreUnavailable(string address) => $"451 4.3.0 <{address}>: Recipient address not verified now: the account store is unavailable; try again later";
}
