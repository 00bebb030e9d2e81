// The SMTP service's limits, read once from the settings (docs/settings.md explains each).
using Mailward.Core.Configuration;
using Mailward.Protocols.Common;

namespace Mailward.Protocols.Smtp;

public sealed record SmtpOptions
{
    public string Hostname { get; init; } = "localhost";
    public long MaxMessageBytes { get; init; } = 26_214_400;
    public int MaxRecipients { get; init; } = 100;
    public int MaxLineLength { get; init; } = 10_000;
    public int MaxCommandLength { get; init; } = 512;
    public int MaxBadCommands { get; init; } = 20;
    public int SoftErrorLimit { get; init; } = 10;
    public int HardErrorLimit { get; init; } = 20;
    public TimeSpan ErrorDelay { get; init; } = TimeSpan.FromSeconds(1);
    public int MaxHops { get; init; } = 100;
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(1200);
    public int MinDataRateBytesPerSecond { get; init; } = 256;
    public TimeSpan MinDataRateGrace { get; init; } = TimeSpan.FromSeconds(60);
    public int MaxConnections { get; init; } = 1000;
    public int MaxConnectionsPerClient { get; init; } = 20;
    public int ClientIpv6PrefixLength { get; init; } = 64;
    public PlaintextAuth PlaintextAuth { get; init; } = PlaintextAuth.Never;
    public TimeSpan FailedAuthDelay { get; init; } = TimeSpan.FromSeconds(2);
    public bool EnforceSenderOwnership { get; init; } = true;

    public static SmtpOptions From(MailwardSettings s) => new()
    {
        Hostname = s.Hostname,
        MaxMessageBytes = s.GetInt("Smtp:MaxMessageBytes", 1, int.MaxValue),
        MaxRecipients = s.GetInt("Smtp:MaxRecipients", 1, 100_000),
        MaxLineLength = s.GetInt("Smtp:MaxLineLength", 1, 1 << 20),
        MaxCommandLength = s.GetInt("Smtp:MaxCommandLength", 512, 64 * 1024),
        MaxBadCommands = s.GetInt("Smtp:MaxBadCommands", 1, 10_000),
        SoftErrorLimit = s.GetInt("Smtp:SoftErrorLimit", 0, 10_000),
        HardErrorLimit = s.GetInt("Smtp:HardErrorLimit", 1, 10_000),
        ErrorDelay = TimeSpan.FromMilliseconds(s.GetInt("Smtp:ErrorDelayMilliseconds", 0, 60_000)),
        MaxHops = s.GetInt("Smtp:MaxHops", 1, 10_000),
        CommandTimeout = TimeSpan.FromSeconds(s.GetInt("Smtp:CommandTimeoutSeconds", 1, 86_400)),
        MinDataRateBytesPerSecond = s.GetInt("Smtp:MinDataRateBytesPerSecond", 0, 1 << 30),
        MinDataRateGrace = TimeSpan.FromSeconds(s.GetInt("Smtp:MinDataRateGraceSeconds", 0, 86_400)),
        MaxConnections = s.GetInt("Smtp:MaxConnections", 1, 1_000_000),
        MaxConnectionsPerClient = s.GetInt("Smtp:MaxConnectionsPerClient", 1, 1_000_000),
        ClientIpv6PrefixLength = s.GetInt("Smtp:ClientIpv6PrefixLength", 32, 128),
        PlaintextAuth = PlaintextPolicy.Read(s, "Submission:AllowPlaintextAuth"),
        FailedAuthDelay = TimeSpan.FromMilliseconds(s.GetInt("Submission:FailedAuthDelayMilliseconds", 0, 60_000)),
        EnforceSenderOwnership = s.GetBool("Submission:EnforceSenderOwnership"),
    };
}
