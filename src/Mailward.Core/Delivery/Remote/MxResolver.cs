// Finds the hosts to try for a destination (RFC 5321 §5.1): MX records by preference, equal
// preferences shuffled, each host's IPv4 then IPv6 addresses; no MX means the domain's own
// addresses (the implicit MX); a null MX (RFC 7505) or a domain that does not exist is permanent.
// Hosts at or behind this server's own preference are dropped (§5.1); a list that then is empty
// "loops back to myself", as does an address literal of this host. Private targets are refused
// (TargetGuard), and at most Remote:MaxMxAddresses addresses are kept (Postfix's smtp_mx_address_limit).
// Relay hosts from Remote:SmartHost and Remote:Routes resolve through the system (/etc/hosts too)
// and are taken as named: the admin chose them.
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Mailward.Core.Addresses;

namespace Mailward.Core.Delivery.Remote;

public sealed record MxHost(string Name, IPEndPoint Endpoint, int Preference = 0);

/// <summary>The hosts in order, or a failure (Temporary: try again later; Permanent: bounce).</summary>
public sealed record MxResult(IReadOnlyList<MxHost> Hosts, DeliveryResult? Failure);

public sealed class MxResolver(ILookupClient dns, TargetGuard? guard = null, int maxAddresses = 5)
{
    private readonly TargetGuard _guard = guard ?? TargetGuard.Strict;

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
            return new MxResult([], DeliveryResult.Temporary("4.4.3", $"DNS lookup for {destination.Domain} failed: {e.Message}"));
        }
    }

    private async Task<MxResult> RelayHostAsync(string host, int port, CancellationToken ct)
    {
        if (IPAddress.TryParse(host, out var literal))
            return new MxResult([new MxHost(host, new IPEndPoint(literal, port))], null);
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, ct);
            if (addresses.Length == 0)
                return new MxResult([], DeliveryResult.Temporary("4.4.3", $"relay host {host} has no address"));
            return new MxResult(Ordered(addresses).Take(maxAddresses).Select(a => new MxHost(host, new IPEndPoint(a, port))).ToList(), null);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return new MxResult([], DeliveryResult.Temporary("4.4.3", $"relay host {host} not found: {e.Message}"));
        }
    }

    private async Task<MxResult> MxAsync(string domain, int port, CancellationToken ct)
    {
        // An address literal (user@[192.0.2.1]) names the host itself (RFC 5321 §4.1.3), parsed strictly.
        if (domain.StartsWith('['))
        {
            if (!AddressLiteral.TryParse(domain, out var ip))
                return new MxResult([], DeliveryResult.Permanent("5.1.3", $"{domain} is not an address literal (#5.1.3)"));
            return Guarded(domain, [new MxHost(domain, new IPEndPoint(ip, port))]);
        }
        var mx = await dns.QueryAsync(domain, QueryType.MX, QueryClass.IN, ct);
        if (mx.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain)
            return new MxResult([], DeliveryResult.Permanent("5.1.2", $"Sorry, I couldn't find any host named {domain}. (#5.1.2)"));
        if (mx.HasError)
            return new MxResult([], DeliveryResult.Temporary("4.4.3", $"DNS lookup of MX for {domain} failed: {mx.ErrorMessage}"));
        var records = mx.Answers.MxRecords().ToList();
        if (records.Count == 1 && records[0].Exchange.Value is "." or "")
            return new MxResult([], DeliveryResult.Permanent("5.1.10", $"{domain} does not accept mail (null MX, RFC 7505) (#5.1.10)"));
        IReadOnlyList<(string Name, int Preference)> names = records.Count == 0 ? [(domain, 0)]
            : Ordered(records.Select(r => (r.Exchange.Value.TrimEnd('.'), (int)r.Preference)), Random.Shared);
        var hosts = new List<MxHost>();
        var usable = 0;
        foreach (var (name, preference) in names)
        {
            // Enough addresses and nothing left at the same preference (which might be this host): stop asking DNS.
            if (usable >= maxAddresses && hosts[^1].Preference < preference)
                break;
            foreach (var address in await AddressesAsync(name, ct))
            {
                hosts.Add(new MxHost(name, new IPEndPoint(address, port), preference));
                if (_guard.Classify(address) == TargetKind.Public)
                    usable++;
            }
        }
        if (hosts.Count == 0)
            return new MxResult([], DeliveryResult.Temporary("4.4.3", $"no address found for the mail hosts of {domain}"));
        return Guarded(domain, hosts);
    }

    /// <summary>
    /// Drops this host and every host at or behind its preference (RFC 5321 §5.1), then private targets,
    /// then keeps the first Remote:MaxMxAddresses. Nothing left: a loop (permanent) or a refused target (permanent).
    /// </summary>
    private MxResult Guarded(string domain, List<MxHost> hosts)
    {
        var kinds = hosts.Select(h => _guard.Classify(h.Endpoint.Address)).ToList();
        var self = hosts.Where((_, i) => kinds[i] == TargetKind.Self).Select(h => h.Preference).DefaultIfEmpty(int.MaxValue).Min();
        var kept = hosts.Where((h, i) => h.Preference < self && kinds[i] == TargetKind.Public).Take(maxAddresses).ToList();
        if (kept.Count > 0)
            return new MxResult(kept, null);
        if (self != int.MaxValue)
            return new MxResult([], DeliveryResult.Permanent("5.4.6",
                $"mail for {domain} loops back to myself ({hosts.First(h => h.Preference == self).Endpoint.Address}) (#5.4.6)"));
        return new MxResult([], DeliveryResult.Permanent("5.4.4",
            $"mail for {domain} would go to a private address ({hosts[0].Endpoint.Address}); refused (Remote:AllowPrivateTargets) (#5.4.4)"));
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
        Ordered(records, random).Select(r => r.Name).ToList();

    private static List<(string Name, int Preference)> Ordered(IEnumerable<(string Name, int Preference)> records, Random random) =>
        records.GroupBy(r => r.Preference).OrderBy(g => g.Key)
            .SelectMany(g => g.OrderBy(_ => random.Next()))
            .DistinctBy(r => r.Name, StringComparer.OrdinalIgnoreCase).ToList();

    private static IEnumerable<IPAddress> Ordered(IEnumerable<IPAddress> addresses) =>
        addresses.OrderBy(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 1 : 0);
}
