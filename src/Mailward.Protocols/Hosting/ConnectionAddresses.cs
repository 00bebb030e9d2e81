// The two ends of an accepted connection, as every listener needs them: the client's address and
// port, and the local address it reached (for vipmap). IPv4-mapped IPv6 addresses become IPv4, so
// relay rules and limits see one form.
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Mailward.Protocols.Hosting;

public readonly record struct ConnectionAddresses(IPAddress Client, int ClientPort, IPAddress? Server)
{
    public static ConnectionAddresses Of(ConnectionContext connection)
    {
        var remote = connection.RemoteEndPoint as IPEndPoint;
        var local = (connection.LocalEndPoint as IPEndPoint)?.Address;
        return new ConnectionAddresses(Plain(remote?.Address ?? IPAddress.None), remote?.Port ?? 0, local is null ? null : Plain(local));
    }

    private static IPAddress Plain(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
