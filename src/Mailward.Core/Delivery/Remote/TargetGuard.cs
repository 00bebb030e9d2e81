// Decides which addresses mail found by MX lookup or an address literal may go to. This host's own
// addresses, loopback and "this network" are "mail loops back to myself" (Postfix's rule, a permanent
// failure); private, link-local, shared and reserved ranges are refused unless Remote:AllowPrivateTargets
// says the network is a lab, so relay clients cannot probe internal hosts and read their replies in
// DSNs. A route or smarthost names its host on purpose and is never judged here.
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Mailward.Core.Delivery.Remote;

public enum TargetKind
{
    Public,
    Private,
    Self,
}

public sealed class TargetGuard(bool allowPrivate, TimeProvider? time = null)
{
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(1);

    private static readonly IPNetwork[] SelfRanges =
        [IPNetwork.Parse("0.0.0.0/8"), IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::/128"), IPNetwork.Parse("::1/128")];

    // RFC 6890's special-purpose registries: nothing here is reachable as a public mail host.
    private static readonly IPNetwork[] PrivateRanges =
    [
        IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"), IPNetwork.Parse("192.0.0.0/24"), IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"), IPNetwork.Parse("224.0.0.0/3"),
        IPNetwork.Parse("::/96"), IPNetwork.Parse("fc00::/7"), IPNetwork.Parse("fe80::/10"), IPNetwork.Parse("fec0::/10"), IPNetwork.Parse("ff00::/8"),
    ];

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private IReadOnlySet<IPAddress> _own = new HashSet<IPAddress>();
    private DateTimeOffset _ownLoaded = DateTimeOffset.MinValue;

    /// <summary>The default: private targets refused, this host's interfaces read from the system.</summary>
    public static TargetGuard Strict { get; } = new(allowPrivate: false);

    public TargetKind Classify(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (SelfRanges.Any(n => n.Contains(address)) || OwnAddresses().Contains(address))
            return TargetKind.Self;
        if (!allowPrivate && PrivateRanges.Any(n => n.Contains(address)))
            return TargetKind.Private;
        return TargetKind.Public;
    }

    /// <summary>The addresses of this host's interfaces, re-read at most once a minute (addresses come and go).</summary>
    private IReadOnlySet<IPAddress> OwnAddresses()
    {
        var now = _time.GetUtcNow();
        if (now - _ownLoaded < RefreshEvery)
            return _own;
        var own = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                foreach (var a in nic.GetIPProperties().UnicastAddresses)
                    own.Add(a.Address.AddressFamily == AddressFamily.InterNetworkV6 ? new IPAddress(a.Address.GetAddressBytes()) : a.Address);
        }
        catch (NetworkInformationException)
        {
            // Without the list, loopback and the ranges above still hold.
        }
        _own = own;
        _ownLoaded = now;
        return own;
    }
}
