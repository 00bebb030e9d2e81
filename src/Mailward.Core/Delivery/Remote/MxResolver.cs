// Finds the hosts to try for a destination (RFC 5321 §5.1): MX records by preference, equal
// preferences shuffled, each host's IPv4 then IPv6 addresses; no MX means the domain's own
// addresses (the implicit MX); a null MX (RFC 7505) or a domain that does not exist is permanent.
// Relay hosts from Remote:SmartHost and Remote:Routes resolve through the system (/etc/hosts too).
using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace Mailward.Core.Delivery.Remote;

public sealed record MxHost(string Name, IPEndPoint Endpoint);

/// <summary>The hosts in order, or a failure (Temporary: try again later; Permanent: bounce).</summary>
public sealed record MxResult(IReadOnlyList<MxHost> Hosts, DeliveryResult? Failure);

public sealed class MxResolver(ILookupClient dns)
{
    public async Task<MxResult> ResolveAsync(Destination destination, CancellationToken ct)
    {
        try
        {
            if (destination.Host is { } relay)
                return await RelayHostAsync(relay, destination.Port, ct);
            return await MxAsync(destination.Domain, destination.Port, ct);
        }
        catch (DnsResponseException e)
        {
            return new MxResult([], new DeliveryResult(DeliveryStatus.Temporary, $"DNS lookup for {destination.Domain} failed: {e.Message}"));
        }
    }

    private static async Task<MxResult> RelayHostAsync(string host, int port, CancellationToken ct)
    {
        if (IPAddress.TryParse(host, out var literal))
            return new MxResult([new MxHost(host, new IPEndPoint(literal, port))], null);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, ct);
            if (addresses.Length == 0)
                return new MxResult([], new DeliveryResult(DeliveryStatus.Temporary, $"relay host {host} has no address"));
            return new MxResult(Ordered(addresses).Select(a => new MxHost(host, new IPEndPoint(a, port))).ToList(), null);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return new MxResult([], new DeliveryResult(DeliveryStatus.Temporary, $"relay host {host} not found: {e.Message}"));
        }
    }

    private async Task<MxResult> MxAsync(string domain, int port, CancellationToken ct)
    {
        // An address literal (user@[192.0.2.1]) names the host itself (RFC 5321 §4.1.3).
        if (domain.StartsWith('[') && domain.EndsWith(']'))
        {
            var text = domain[1..^1];
            if (text.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
                text = text[5..];
            return IPAddress.TryParse(text, out var ip)
                ? new MxResult([new MxHost(domain, new IPEndPoint(ip, port))], null)
                : new MxResult([], new DeliveryResult(DeliveryStatus.Permanent, $"{domain} is not an address literal"));
        }
        var mx = await dns.QueryAsync(domain, QueryType.MX, QueryClass.IN, ct);
        if (mx.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain)
            return new MxResult([], new DeliveryResult(DeliveryStatus.Permanent, $"Sorry, I couldn't find any host named {domain}. (#5.1.2)"));
        if (mx.HasError)
            return new MxResult([], new DeliveryResult(DeliveryStatus.Temporary, $"DNS lookup of MX for {domain} failed: {mx.ErrorMessage}"));
        var records = mx.Answers.MxRecords().ToList();
        if (records.Count == 1 && records[0].Exchange.Value is "." or "")
            return new MxResult([], new DeliveryResult(DeliveryStatus.Permanent, $"{domain} does not accept mail (null MX, RFC 7505) (#5.1.10)"));
        var names = records.Count == 0 ? [domain] : OrderByPreference(records.Select(r => (r.Exchange.Value.TrimEnd('.'), (int)r.Preference)), Random.Shared);
        var hosts = new List<MxHost>();
        foreach (var name in names)
            foreach (var address in await AddressesAsync(name, ct))
                hosts.Add(new MxHost(name, new IPEndPoint(address, port)));
        if (hosts.Count == 0)
            return new MxResult([], new DeliveryResult(DeliveryStatus.Temporary, $"no address found for the mail hosts of {domain}"));
        return new MxResult(hosts, null);
    }

    private async Task<IReadOnlyList<IPAddress>> AddressesAsync(string name, CancellationToken ct)
    {
        var list = new List<IPAddress>();
        var a = await dns.QueryAsync(name, QueryType.A, QueryClass.IN, ct);
        list.AddRange(a.Answers.ARecords().Select(r => r.Address));
        var aaaa = await dns.QueryAsync(name, QueryType.AAAA, QueryClass.IN, ct);
        list.AddRange(aaaa.Answers.AaaaRecords().Select(r => r.Address));
        return list;
    }

    /// <summary>Lowest preference first; hosts of equal preference in random order (RFC 5321 §5.1).</summary>
    public static IReadOnlyList<string> OrderByPreference(IEnumerable<(string Name, int Preference)> records, Random random) =>
        records.GroupBy(r => r.Preference).OrderBy(g => g.Key)
            .SelectMany(g => g.Select(r => r.Name).OrderBy(_ => random.Next()))
            .Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    private static IEnumerable<IPAddress> Ordered(IEnumerable<IPAddress> addresses) =>
        addresses.OrderBy(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 1 : 0);
}
