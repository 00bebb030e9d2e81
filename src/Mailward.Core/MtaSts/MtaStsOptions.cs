// MTA-STS's settings (RFC 8461 for remote delivery), read and validated in one place.
using Mailward.Core.Configuration;

namespace Mailward.Core.MtaSts;

public sealed record MtaStsOptions
{
    /// <summary>Look up and apply MTA-STS policies for deliveries by MX lookup.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The policy host's HTTPS port (443; other values are for test networks).</summary>
    public int Port { get; init; } = 443;

    /// <summary>Longest a policy fetch may take (connect, TLS, request and body).</summary>
    public TimeSpan FetchTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Largest policy body read; a longer one is no policy.</summary>
    public int MaxPolicyBytes { get; init; } = 64 * 1024;

    /// <summary>Most policies held in memory (all of them stay on disk).</summary>
    public int CacheEntries { get; init; } = 10_000;

    public static MtaStsOptions From(MailwardSettings s) => new()
    {
        Enabled = s.GetBool("MtaSts:Enabled"),
        Port = s.GetInt("MtaSts:Port", 1, 65535),
        FetchTimeout = TimeSpan.FromSeconds(s.GetInt("MtaSts:FetchTimeoutSeconds", 1, 600)),
        MaxPolicyBytes = s.GetInt("MtaSts:MaxPolicyBytes", 1024, 1 << 20),
        CacheEntries = s.GetInt("MtaSts:CacheEntries", 10, 10_000_000),
    };
}
