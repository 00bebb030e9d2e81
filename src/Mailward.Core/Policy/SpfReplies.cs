// The reply of an SPF refusal at MAIL (RFC 7208 §8.4: 550 with RFC 7372's 5.7.23), carrying the
// domain's explanation (exp=, §6.2; already printable ASCII and bounded) or a default one.
using System.Net;
using Mailward.Core.Spf;

namespace Mailward.Core.Policy;

public static class SpfReplies
{
    public static string Fail(string sender, IPAddress client, SpfOutcome outcome) =>
        $"550 5.7.23 <{sender}>: Sender address rejected: SPF fail: " +
        (outcome.Explanation is { Length: > 0 } e ? e : $"{outcome.Domain} does not designate {(client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client)} as permitted sender");
}
