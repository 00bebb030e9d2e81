// rblsmtpd's job: is the client's address listed in a DNS list? The address is asked as a name in
// each zone (RFC 5782 §2.1: 192.0.2.99 as 99.2.0.192.zone, IPv6 as 32 reversed nibbles §2.4); an A
// answer in 127.0.0.0/8 lists it, a TXT record at the same name says why. Allowlists (DNSWL) are
// asked first: a listed client is asked about nowhere else. Answers outside 127/8 (a hijacking
// resolver) and the error codes lists return instead of data (Spamhaus' 127.255.255.0/24 for
// "query through a public resolver" and "too many queries", dnswl.org's 127.0.0.255) are errors,
// never listings; so is any DNS failure: a list that cannot be asked never refuses mail.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Core.Policy;
using Mailward.Core.PolicyDns;

namespace Mailward.Core.Dnsbl;

/// <param name="Text">The list's TXT text, printable ASCII and at most 200 characters; null when it gave none.</param>
public sealed record DnsblListing(string Zone, DnsblAction Action, IPAddress Answer, string? Text);

/// <param name="AllowedBy">The allowlist zone that lists the client, if any (then no blocklist was asked).</param>
/// <param name="Errors">Zones that could not be asked, or answered with an error code, with what happened.</param>
public sealed record DnsblResult(IReadOnlyList<DnsblListing> Listings, string? AllowedBy, IReadOnlyList<string> Errors)
{
    public static DnsblResult Clean { get; } = new([], null, []);

    /// <summary>The first listing whose action is <paramref name="action"/>.</summary>
    public DnsblListing? First(DnsblAction action) => Listings.FirstOrDefault(l => l.Action == action);
}

public sealed class DnsblChecker(IPolicyDns dns, DnsblOptions options)
{
    private const int MaxTextLength = 200;

    public DnsblOptions Options => options;

    public async ValueTask<DnsblResult> CheckAsync(IPAddress client, CancellationToken ct = default)
    {
        if (!options.Enabled)
            return DnsblResult.Clean;
        var reversed = ReversedName(client);
        var errors = new List<string>();
        // All lists are asked at once: the client waits for the slowest, not for the sum.
        var allowed = await Task.WhenAll(options.Allowlists.Select(z => AskAsync(reversed, z, ct).AsTask()));
        foreach (var (zone, answer, error) in allowed)
        {
            if (error is not null)
                errors.Add($"{zone}: {error}");
            else if (answer is not null)
                return new DnsblResult([], zone, errors);
        }
        var listed = await Task.WhenAll(options.Blocklists.Select(async z => (z, await AskAsync(reversed, z.Zone, ct))));
        var listings = new List<DnsblListing>();
        foreach (var (zone, (_, answer, error)) in listed)
        {
            if (error is not null)
                errors.Add($"{zone.Zone}: {error}");
            else if (answer is not null)
                listings.Add(new DnsblListing(zone.Zone, zone.Action, answer, await TextAsync($"{reversed}.{zone.Zone}", ct)));
        }
        return new DnsblResult(listings, null, errors);
    }

    /// <summary>The listing answer, null when not listed, or the error that kept it from being known.</summary>
    private async ValueTask<(string Zone, IPAddress? Answer, string? Error)> AskAsync(string reversed, string zone, CancellationToken ct)
    {
        var answer = await dns.QueryAsync($"{reversed}.{zone}", DnsRecordType.A, ct);
        if (answer.Outcome == DnsOutcome.Error)
            return (zone, null, answer.Error ?? "DNS error");
        if (answer.IsVoid)
            return (zone, null, null);
        var listing = answer.Addresses.FirstOrDefault(IsListing);
        if (listing is not null)
            return (zone, listing, null);
        return (zone, null, $"error answer {answer.Addresses[0]}");
    }

    private async ValueTask<string?> TextAsync(string name, CancellationToken ct)
    {
        var answer = await dns.QueryAsync(name, DnsRecordType.Txt, ct);
        return answer.Texts.Count == 0 ? null : ClientText.Printable(answer.Texts[0].Replace('\t', ' '), MaxTextLength);
    }

    /// <summary>
    /// An answer that means "listed": 127.0.0.0/8 (RFC 5782 §2.1), but not 127.255.255.0/24
    /// (Spamhaus' error codes: 252 bad zone name, 254 public resolver, 255 too many queries) nor
    /// 127.0.0.255 (dnswl.org's "access blocked"); 127.0.0.1 is kept, some lists use it.
    /// </summary>
    public static bool IsListing(IPAddress answer)
    {
        if (answer.AddressFamily != AddressFamily.InterNetwork)
            return false;
        var b = answer.GetAddressBytes();
        return b[0] == 127 && !(b[1] == 255 && b[2] == 255) && !(b[1] == 0 && b[2] == 0 && b[3] == 255);
    }

    /// <summary>RFC 5782 §2.1 and §2.4: the address's octets, or for IPv6 its 32 nibbles, in reverse order.</summary>
    public static string ReversedName(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        if (address.AddressFamily == AddressFamily.InterNetwork)
            return $"{bytes[3]}.{bytes[2]}.{bytes[1]}.{bytes[0]}";
        var sb = new StringBuilder(64);
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (i != bytes.Length - 1)
                sb.Append('.');
            sb.Append("0123456789abcdef"[bytes[i] & 0xF]).Append('.').Append("0123456789abcdef"[bytes[i] >> 4]);
        }
        return sb.ToString();
    }
}
