// The DNS lists the door asks (Policy:Dnsbl, Policy:Dnswl), read and validated in one place:
// "zone" or "zone=action" separated by commas, action connect (554 instead of the greeting), rcpt
// (550 to each RCPT, the default, as Postfix's reject_rbl_client) or mark (a header only).
using Mailward.Core.Configuration;

namespace Mailward.Core.Dnsbl;

public enum DnsblAction
{
    /// <summary>Refused before the greeting (RFC 5321 §3.1: 554 instead of 220).</summary>
    Connect,

    /// <summary>Every RCPT answered 550 with the list's text (rblsmtpd, Postfix's reject_rbl_client).</summary>
    Rcpt,

    /// <summary>Accepted; the listing is recorded in the message's trace header only.</summary>
    Mark,
}

public sealed record DnsblZone(string Zone, DnsblAction Action);

public sealed record DnsblOptions(IReadOnlyList<DnsblZone> Blocklists, IReadOnlyList<string> Allowlists)
{
    public static DnsblOptions None { get; } = new([], []);

    public bool Enabled => Blocklists.Count > 0;

    public static DnsblOptions From(MailwardSettings s) => new(
        Zones(s.Get("Policy:Dnsbl")).Select(z => ParseZone(z)).ToList(),
        Zones(s.Get("Policy:Dnswl")).Select(z => z.Contains('=', StringComparison.Ordinal)
            ? throw new SettingsException($"setting Policy:Dnswl: '{z}' takes no action") : Zone(z, "Policy:Dnswl")).ToList());

    private static DnsblZone ParseZone(string entry)
    {
        var eq = entry.IndexOf('=', StringComparison.Ordinal);
        var zone = Zone(eq < 0 ? entry : entry[..eq].Trim(), "Policy:Dnsbl");
        var action = eq < 0 ? "rcpt" : entry[(eq + 1)..].Trim().ToLowerInvariant();
        return new DnsblZone(zone, action switch
        {
            "connect" => DnsblAction.Connect,
            "rcpt" => DnsblAction.Rcpt,
            "mark" => DnsblAction.Mark,
            _ => throw new SettingsException($"setting Policy:Dnsbl: action '{action}' of {zone} must be connect, rcpt or mark"),
        });
    }

    private static string[] Zones(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string Zone(string zone, string key)
    {
        zone = zone.TrimEnd('.').ToLowerInvariant();
        if (zone.Length is 0 or > 200 || zone.Split('.').Any(l => l.Length is 0 or > 63 || !l.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new SettingsException($"setting {key}: '{zone}' is not a DNS zone");
        return zone;
    }
}
