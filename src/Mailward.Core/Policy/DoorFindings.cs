// What the door's checks found about one SMTP session, kept for its messages: the DNS list answers
// (asked once, at connect), the SPF result for the HELO name and, per transaction, for MAIL FROM,
// the DKIM and DMARC results and the quarantine decision. The session owns one and hands it to every
// policy stage inside ClientInfo; at DATA it writes the trace header fields made from it above the
// Received line, and after the end-of-DATA checks the top fields (Authentication-Results, RFC 8601).
using System.Globalization;
using System.Text;
using Mailward.Core.Dmarc;
using Mailward.Core.Dnsbl;
using Mailward.Core.Spf;

namespace Mailward.Core.Policy;

public sealed class DoorFindings
{
    /// <summary>A submission listener (587, 465): every sender authenticates, so no DNS list or SPF check applies.</summary>
    public bool Submission { get; init; }

    /// <summary>The DNS list answers for the client, asked at connect; null when not asked (exempt, or no lists).</summary>
    public DnsblResult? Dnsbl { get; set; }

    /// <summary>The last HELO/EHLO name (printable), for the HELO identity (RFC 7208 §2.3).</summary>
    public string? Helo { get; set; }

    /// <summary>The SPF result for the HELO identity; null when not checked (exempt, off, or HELO is no domain).</summary>
    public SpfOutcome? SpfHelo { get; set; }

    /// <summary>The SPF result for this transaction's MAIL FROM identity (RFC 7208 §2.4); null when not checked. Set at every MAIL.</summary>
    public SpfOutcome? SpfMailFrom { get; set; }

    /// <summary>The MAIL FROM address <see cref="SpfMailFrom"/> is about ("" for the null sender).</summary>
    public string SpfSender { get; set; } = "";

    /// <summary>The message of this transaction as spooled so far, set by the session for the end-of-DATA checks (DKIM) and cleared after them.</summary>
    public Func<CancellationToken, ValueTask<Stream>>? OpenMessage { get; set; }

    /// <summary>The DKIM results of this transaction's message (RFC 6376), one per signature checked; null when not checked (exempt, off), empty when it had none.</summary>
    public IReadOnlyList<Dkim.DkimResult>? Dkim { get; set; }

    /// <summary>The DMARC results of this transaction's message, one per From: domain (RFC 7489 §6.6.1); null when not evaluated.</summary>
    public IReadOnlyList<DmarcOutcome>? Dmarc { get; set; }

    /// <summary>Why this transaction's message goes to the recipients' Junk folder (a DMARC quarantine policy); null when it does not.</summary>
    public string? Quarantine { get; set; }

    /// <summary>The header field that marks a quarantined message; local delivery believes it only among the queue's top fields.</summary>
    public const string QuarantineField = "X-Mailward-Quarantine";

    /// <summary>
    /// The fields that go above the message once its checks are done (the queue's top fields): an
    /// Authentication-Results field (RFC 8601) naming <paramref name="authservId"/> with the SPF,
    /// DKIM and DMARC results that were checked, and the quarantine mark. Empty when nothing was
    /// checked (exempt clients, or every check off).
    /// </summary>
    public byte[] TopFields(string authservId)
    {
        var results = new List<AuthResult>();
        if (SpfMailFrom is { } spf)
            results.Add(new AuthResult("spf", spf.Name, SpfSender.Length > 0 ? [("smtp.mailfrom", SpfSender)] : [("smtp.helo", Helo ?? "")]));
        if (Dkim is { Count: 0 })
            results.Add(new AuthResult("dkim", "none", []));
        foreach (var d in Dkim ?? [])
        {
            List<(string, string)> properties = [("header.d", d.Domain), ("header.s", d.Selector)];
            if (d.SignaturePrefix.Length > 0)
                properties.Add(("header.b", d.SignaturePrefix)); // RFC 6008: tells two signatures of one domain apart
            results.Add(new AuthResult("dkim", d.Name, properties, d.Reason));
        }
        foreach (var m in Dmarc ?? [])
            results.Add(new AuthResult("dmarc", m.Name, [("header.from", m.FromDomain)],
                m.Policy is null ? m.Problem : $"p={m.PolicyName} dis={m.DispositionName}"));
        var sb = new StringBuilder();
        if (results.Count > 0)
            sb.Append(AuthenticationResults.Format(authservId, results));
        if (Quarantine is { } why)
            sb.Append(QuarantineField).Append(": ").Append(why).Append("\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>
    /// Trace header fields for a message of this session, each ending in CRLF, written before the
    /// Received line (RFC 7208 §9.1 puts Received-SPF above it): the DNS listings whose action is
    /// mark, and Received-SPF for the MAIL FROM identity when it was checked.
    /// </summary>
    public byte[] TraceHeaders(string client, string receiver)
    {
        if (client.StartsWith("::ffff:", StringComparison.OrdinalIgnoreCase) && client.Contains('.', StringComparison.Ordinal))
            client = client[7..]; // an IPv4 client on a dual-stack listener
        var sb = new StringBuilder();
        foreach (var l in Dnsbl?.Listings.Where(l => l.Action == DnsblAction.Mark) ?? [])
            sb.Append(CultureInfo.InvariantCulture, $"X-Mailward-DNSBL: client [{client}] listed in {l.Zone} ({l.Answer})\r\n");
        if (SpfMailFrom is { } spf)
            sb.Append(ReceivedSpf.Field(spf, client, SpfSender, Helo ?? "", receiver));
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}
