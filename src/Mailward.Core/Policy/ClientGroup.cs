// The key every per-address limit and throttle counts under: an IPv4 address as it is, an IPv6
// address by its /64, since one customer or host is given a whole /64 (RFC 6177) and could
// otherwise take a fresh address for every try. IPv4-mapped IPv6 addresses count as IPv4.
using System.Net;

namespace Mailward.Core.Policy;

public static class ClientGroup
{
    public static IPAddress Of(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            return address.MapToIPv4();
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            return address;
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }
}
