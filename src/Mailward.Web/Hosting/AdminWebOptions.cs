// The Admin listener's settings, read once from the catalogue, and the one decision how it is
// served: plain HTTP on loopback, HTTPS with the server's certificate elsewhere, plain HTTP behind
// a named reverse proxy, or no start at all when told of a proxy without being told which.
using System.Net;
using Mailward.Core.Configuration;

namespace Mailward.Web.Hosting;

public enum AdminTransport
{
    /// <summary>Bound to loopback: only this host reaches it, no certificate needed.</summary>
    PlainLoopback,
    /// <summary>Bound elsewhere: HTTPS with the certificate the mail listeners serve.</summary>
    Https,
    /// <summary>Behind a reverse proxy that terminates TLS; its X-Forwarded-* are believed.</summary>
    PlainBehindProxy,
}

public sealed record AdminWebOptions
{
    public bool Enabled { get; init; } = true;
    public string Address { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 8080;
    public bool BehindProxy { get; init; }
    public IReadOnlyList<IPAddress> TrustedProxies { get; init; } = [];
    public TimeSpan SessionIdle { get; init; } = TimeSpan.FromMinutes(30);
    public TimeSpan SessionMax { get; init; } = TimeSpan.FromHours(12);
    public int MaxSessions { get; init; } = 10_000;
    public TimeSpan FailedLoginDelay { get; init; } = TimeSpan.FromSeconds(2);
    public long MaxRequestBytes { get; init; } = 65_536;
    public int PageSize { get; init; } = 50;
    public TimeSpan SecondFactorWait { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The server's name (Hostname), the issuer authenticator apps show beside a TOTP code.</summary>
    public string Hostname { get; init; } = "mailward";

    public static AdminWebOptions From(MailwardSettings s) => new()
    {
        Enabled = s.GetBool("Admin:Enabled"),
        Address = s.Get("Admin:Address").Trim(),
        Port = s.GetInt("Admin:Port", 0, 65535),
        BehindProxy = s.GetBool("Admin:BehindProxy"),
        TrustedProxies = s.Get("Admin:TrustedProxies").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => IPAddress.TryParse(p, out var a) ? a : throw new SettingsException($"setting Admin:TrustedProxies must list IP addresses, not '{p}'"))
            .ToList(),
        SessionIdle = TimeSpan.FromMinutes(s.GetInt("Admin:SessionIdleMinutes", 1, 24 * 60)),
        SessionMax = TimeSpan.FromHours(s.GetInt("Admin:SessionMaxHours", 1, 24 * 30)),
        MaxSessions = s.GetInt("Admin:MaxSessions", 10, 10_000_000),
        FailedLoginDelay = TimeSpan.FromMilliseconds(s.GetInt("Admin:FailedLoginDelayMilliseconds", 0, 60_000)),
        MaxRequestBytes = s.GetInt("Admin:MaxRequestBytes", 4096, 64 << 20),
        PageSize = s.GetInt("Admin:PageSize", 1, Core.Accounts.PageRequest.MaxLimit),
        SecondFactorWait = TimeSpan.FromMinutes(s.GetInt("Admin:SecondFactorMinutes", 1, 60)),
        Hostname = s.Hostname,
    };

    /// <summary>The address to bind: Admin:Address, "*" for every address.</summary>
    public IPAddress? BindAddress => Address == "*" ? null
        : IPAddress.TryParse(Address, out var a) ? a
        : throw new SettingsException($"setting Admin:Address must be * or an IP address, not '{Address}'");

    /// <summary>How the listener is served, or a SettingsException saying why it must not start.</summary>
    public AdminTransport Transport
    {
        get
        {
            if (BehindProxy)
                return TrustedProxies.Count > 0 ? AdminTransport.PlainBehindProxy
                    : throw new SettingsException("setting Admin:BehindProxy=true needs Admin:TrustedProxies: the addresses of the proxies whose X-Forwarded-For and X-Forwarded-Proto are believed");
            return BindAddress is { } a && IPAddress.IsLoopback(a) ? AdminTransport.PlainLoopback : AdminTransport.Https;
        }
    }
}
