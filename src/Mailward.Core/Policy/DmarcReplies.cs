// The door's answer to a message whose From: domain's DMARC policy says reject (RFC 7489 §6.6.4):
// 550 with RFC 7372's 5.7.1, as mox answers, naming the domain and never echoing the message.
namespace Mailward.Core.Policy;

public static class DmarcReplies
{
    public static string Reject(string fromDomain) =>
        $"550 5.7.1 Message refused: it fails the DMARC policy of {fromDomain}, which asks that it be rejected";
}
