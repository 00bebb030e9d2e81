// Greylisting's settings (postgrey's defaults), read and validated in one place: off unless the admin
// turns it on; a first message from a new client network, sender and recipient is deferred for
// DelaySeconds and accepted when it is retried after that (within the retry window); a network with
// AutoAllowAfter passes is no longer greylisted; rows unused for ExpiryDays are removed.
using Mailward.Core.Configuration;

namespace Mailward.Core.Greylist;

public sealed record GreylistOptions
{
    public bool Enabled { get; init; }

    /// <summary>How long a new triplet is deferred (postgrey --delay 300).</summary>
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>A retry later than this after the first try starts again (postgrey --retry-window 2 days).</summary>
    public TimeSpan RetryWindow { get; init; } = TimeSpan.FromDays(2);

    /// <summary>IPv4 clients are one client by this prefix (postgrey --ipv4cidr 24: a sender's pool of outgoing servers).</summary>
    public int Ipv4PrefixLength { get; init; } = 24;

    /// <summary>IPv6 clients by this prefix (postgrey --ipv6cidr 64).</summary>
    public int Ipv6PrefixLength { get; init; } = 64;

    /// <summary>Passes after which a client network is no longer greylisted (postgrey --auto-whitelist-clients 5); 0: never.</summary>
    public int AutoAllowAfter { get; init; } = 5;

    /// <summary>Triplets and allowed networks unused this long are forgotten (postgrey --max-age 35 days).</summary>
    public TimeSpan Expiry { get; init; } = TimeSpan.FromDays(35);

    /// <summary>Most rows one cleanup removes; a cleanup runs at most once a minute, during a check.</summary>
    public int CleanupRows { get; init; } = 1000;

    public static GreylistOptions From(MailwardSettings s) => new()
    {
        Enabled = s.GetBool("Greylist:Enabled"),
        Delay = TimeSpan.FromSeconds(s.GetInt("Greylist:DelaySeconds", 1, 86_400)),
        RetryWindow = TimeSpan.FromHours(s.GetInt("Greylist:RetryWindowHours", 1, 24 * 365)),
        Ipv4PrefixLength = s.GetInt("Greylist:Ipv4PrefixLength", 8, 32),
        Ipv6PrefixLength = s.GetInt("Greylist:Ipv6PrefixLength", 32, 128),
        AutoAllowAfter = s.GetInt("Greylist:AutoAllowAfter", 0, 1_000_000),
        Expiry = TimeSpan.FromDays(s.GetInt("Greylist:ExpiryDays", 1, 3650)),
        CleanupRows = s.GetInt("Greylist:CleanupRows", 10, 1_000_000),
    };
}
