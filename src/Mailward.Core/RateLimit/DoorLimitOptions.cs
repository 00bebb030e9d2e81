// The door's per-client limits (Postfix's anvil and postscreen's pregreet test), read and validated
// in one place: connections, messages and recipients per minute from one client, how many clients
// are tracked, how IPv6 clients are grouped, and how long a stranger waits for the greeting.
using Mailward.Core.Configuration;

namespace Mailward.Core.RateLimit;

public sealed record DoorLimitOptions
{
    /// <summary>Anvil's time unit (anvil_rate_time_unit): every rate is counted per minute.</summary>
    public static readonly TimeSpan Unit = TimeSpan.FromMinutes(1);

    /// <summary>Connections one client may open per minute; 0: no limit.</summary>
    public int ConnectionsPerMinute { get; init; } = 60;

    /// <summary>MAIL commands one client may give per minute; 0: no limit.</summary>
    public int MessagesPerMinute { get; init; } = 120;

    /// <summary>RCPT commands one client may give per minute; 0: no limit.</summary>
    public int RecipientsPerMinute { get; init; } = 600;

    /// <summary>Most clients whose counts are kept; the least recently seen go first.</summary>
    public int TrackedClients { get; init; } = 100_000;

    /// <summary>IPv6 clients count together by this prefix (one customer holds a /64, RFC 6177).</summary>
    public int Ipv6PrefixLength { get; init; } = 64;

    /// <summary>How long a stranger waits for the greeting; input in that time is an early talker. Zero: no wait, no check.</summary>
    public TimeSpan GreetDelay { get; init; } = TimeSpan.FromMilliseconds(300);

    public bool AnyRate => ConnectionsPerMinute > 0 || MessagesPerMinute > 0 || RecipientsPerMinute > 0;

    public static DoorLimitOptions From(MailwardSettings s) => new()
    {
        ConnectionsPerMinute = s.GetInt("Smtp:MaxConnectionsPerMinutePerClient", 0, 1_000_000),
        MessagesPerMinute = s.GetInt("Smtp:MaxMessagesPerMinutePerClient", 0, 1_000_000),
        RecipientsPerMinute = s.GetInt("Smtp:MaxRecipientsPerMinutePerClient", 0, 10_000_000),
        TrackedClients = s.GetInt("Smtp:RateLimitClients", 100, 100_000_000),
        Ipv6PrefixLength = s.GetInt("Smtp:ClientIpv6PrefixLength", 32, 128),
        GreetDelay = TimeSpan.FromMilliseconds(s.GetInt("Smtp:GreetDelayMilliseconds", 0, 60_000)),
    };
}
