// What the door's checks found about one SMTP session, kept for its messages: the DNS list answers
// (asked once, at connect) and, per transaction, the SPF results. The session owns one and hands
// it to every policy stage inside ClientInfo; at DATA it writes the trace header fields made from
// it, and the later message checks (DKIM, DMARC, Authentication-Results) read the SPF results here.
using System.Globalization;
using System.Text;
using Mailward.Core.Dnsbl;

namespace Mailward.Core.Policy;

public sealed class DoorFindings
{
    /// <summary>A submission listener (587, 465): every sender authenticates, so no DNS list or SPF check applies.</summary>
    public bool Submission { get; init; }

    /// <summary>The DNS list answers for the client, asked at connect; null when not asked (exempt, or no lists).</summary>
    public DnsblResult? Dnsbl { get; set; }

    /// <summary>
    /// Trace header fields for a message of this session, each ending in CRLF, written before the
    /// Received line (RFC 7208 §9.1 puts Received-SPF above it): the listings whose action is mark.
    /// </summary>
    public byte[] TraceHeaders(string client)
    {
        var sb = new StringBuilder();
        foreach (var l in Dnsbl?.Listings.Where(l => l.Action == DnsblAction.Mark) ?? [])
            sb.Append(CultureInfo.InvariantCulture, $"X-Mailward-DNSBL: client [{client}] listed in {l.Zone} ({l.Answer})\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}
