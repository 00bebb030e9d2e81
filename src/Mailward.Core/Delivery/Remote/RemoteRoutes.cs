// Where remote mail for a domain goes (the contract's outbound routing, qmail's control/smtproutes):
// Remote:Routes:<domain> first (an entry ".example.com" also covers every subdomain), then
// Remote:SmartHost, then the domain's MX records.
namespace Mailward.Core.Delivery.Remote;

/// <summary>A fixed relay host, or null Host for an MX lookup of the domain; SmartHost: Remote:SmartHost, every message's relay.</summary>
public sealed record Destination(string? Host, int Port, string Domain, bool SmartHost = false)
{
    /// <summary>Recipients with the same key share one connection.</summary>
    public string Key => Host is null ? "mx:" + Domain : $"relay:{Host}:{Port}";
}

public sealed class RemoteRoutes
{
    private readonly Dictionary<string, (string Host, int Port)> _routes = new(StringComparer.OrdinalIgnoreCase);
    private readonly (string Host, int Port)? _smartHost;
    private readonly int _mxPort;

    public RemoteRoutes(string smartHost, IReadOnlyDictionary<string, string> routes, int mxPort = 25)
    {
        _mxPort = mxPort;
        if (smartHost.Length > 0)
            _smartHost = ParseHostPort(smartHost, "Remote:SmartHost");
        foreach (var (domain, target) in routes)
            _routes[domain.TrimEnd('.')] = ParseHostPort(target, $"Remote:Routes:{domain}");
    }

    public Destination For(string domain)
    {
        if (_routes.TryGetValue(domain, out var exact))
            return new Destination(exact.Host, exact.Port, domain);
        for (var dot = domain.IndexOf('.'); dot >= 0; dot = domain.IndexOf('.', dot + 1))
            if (_routes.TryGetValue(domain[dot..], out var parent))
                return new Destination(parent.Host, parent.Port, domain);
        if (_smartHost is { } s)
            return new Destination(s.Host, s.Port, domain, SmartHost: true);
        return new Destination(null, _mxPort, domain);
    }

    /// <summary>"host", "host:port", "[ipv6]:port"; the port defaults to 25.</summary>
    public static (string Host, int Port) ParseHostPort(string text, string setting)
    {
        text = text.Trim();
        string host;
        var port = 25;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0)
                throw new Configuration.SettingsException($"setting {setting}: '{text}' lacks the closing ]");
            host = text[1..close];
            if (close + 1 < text.Length && (text[close + 1] != ':' || !int.TryParse(text[(close + 2)..], out port)))
                throw new Configuration.SettingsException($"setting {setting}: '{text}' is not [address]:port");
        }
        else
        {
            var colon = text.LastIndexOf(':');
            host = colon < 0 ? text : text[..colon];
            if (colon >= 0 && !int.TryParse(text[(colon + 1)..], out port))
                throw new Configuration.SettingsException($"setting {setting}: '{text}' is not host:port");
        }
        if (host.Length == 0 || port is < 1 or > 65535)
            throw new Configuration.SettingsException($"setting {setting}: '{text}' is not host:port");
        return (host, port);
    }
}
