// The key every per-address limit and throttle counts under: an IPv4 address as it is, an IPv6
// address by its /64, since one customer or host is given a whole /64 (RFC 6177) and could
// otherwise take a fresh address for every try. IPv4-mapped IPv6 addresses count as IPv4.
using System.Net;

namespace Mailward.Core.Policy;

public static class ClientGroup
{
    public static IPAddress Of(IPAddress address) => Of(address, 64);

    /// <summary>As above with another IPv6 prefix length (Smtp:ClientIpv6PrefixLength, 32 to 128).</summary>
    public static IPAddress Of(IPAddress address, int ipv6Prefix)
    {
        if (address.IsIPv4MappedToIPv6)
            return address.MapToIPv4();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6 || ipv6Prefix >= 128)
            return address;
        var bytes = address.GetAddressBytes();
        var full = ipv6Prefix / 8;
        if (ipv6Prefix % 8 != 0)
            bytes[full++] &= (byte)(0xFF << (8 - ipv6Prefix % 8));
        Array.Clear(bytes, full, 16 - full);
        return new IPAddress(bytes);
    }
}
