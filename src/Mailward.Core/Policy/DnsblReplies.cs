// The replies of a DNS list refusal, Postfix's wording: "Service unavailable; client [ADDRESS]
// blocked using ZONE" and the list's own text (already printable ASCII, bounded; see DnsblChecker).
using System.Net;
using Mailward.Core.Dnsbl;

namespace Mailward.Core.Policy;

public static class DnsblReplies
{
    /// <summary>Instead of the greeting (RFC 5321 §3.1).</summary>
    public static string AtConnect(IPAddress client, DnsblListing listing) =>
        $"554 5.7.1 Service unavailable; client [{Plain(client)}] blocked using {listing.Zone}{Text(listing)}";

    public static string AtRcpt(IPAddress client, string address, DnsblListing listing) =>
        $"550 5.7.1 <{address}>: Service unavailable; client [{Plain(client)}] blocked using {listing.Zone}{Text(listing)}";

    private static string Text(DnsblListing l) => l.Text is { Length: > 0 } t ? "; " + t : "";

    private static IPAddress Plain(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
