// The settings of the policy resolver (Dns:*), read and validated in one place.
using System.Net;
using Mailward.Core.Configuration;

namespace Mailward.Core.PolicyDns;

/// <param name="Servers">Empty: the system's resolvers (/etc/resolv.conf).</param>
public sealed record PolicyDnsOptions(IReadOnlyList<IPEndPoint> Servers, TimeSpan Timeout, int Retries, int CacheEntries, TimeSpan CacheMaxTtl)
{
    public static PolicyDnsOptions Default { get; } = new([], TimeSpan.FromSeconds(2), 1, 10_000, TimeSpan.FromHours(1));

    public static PolicyDnsOptions From(MailwardSettings s) => new(
        ParseServers(s.Get("Dns:Servers"), "Dns:Servers"),
        TimeSpan.FromMilliseconds(s.GetInt("Dns:TimeoutMilliseconds", 100, 60_000)),
        s.GetInt("Dns:Retries", 0, 5),
        s.GetInt("Dns:CacheEntries", 0, 10_000_000),
        TimeSpan.FromSeconds(s.GetInt("Dns:CacheMaxSeconds", 0, 604_800)));

    /// <summary>"address" or "address:port" (53 by default), separated by commas.</summary>
    public static IReadOnlyList<IPEndPoint> ParseServers(string text, string key) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
            IPAddress.TryParse(s, out var a) ? new IPEndPoint(a, 53)
            : IPEndPoint.TryParse(s, out var ep) && ep.Port > 0 ? ep
            : throw new SettingsException($"setting {key}: '{s}' is not an address or address:port")).ToList();
}
