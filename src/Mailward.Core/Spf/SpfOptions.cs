// The settings of the SPF check (Spf:*), read and validated in one place.
using Mailward.Core.Configuration;

namespace Mailward.Core.Spf;

public enum SpfMode
{
    /// <summary>Not checked.</summary>
    Off,

    /// <summary>Checked and recorded (Received-SPF, later Authentication-Results); never refused.</summary>
    Mark,

    /// <summary>As mark, and a fail at MAIL FROM is refused with 550 5.7.23 (RFC 7208 §8.4).</summary>
    Reject,
}

/// <param name="MaxLookups">RFC 7208 §4.6.4: DNS-querying terms per check (10).</param>
/// <param name="MaxVoidLookups">RFC 7208 §4.6.4: lookups answered "no data" or "no such name" (2).</param>
/// <param name="Deadline">RFC 7208 §4.6.4: a whole check's time (at least 20 s), then temperror.</param>
public sealed record SpfOptions(SpfMode Mode, int MaxLookups, int MaxVoidLookups, TimeSpan Deadline)
{
    public static SpfOptions Default { get; } = new(SpfMode.Mark, 10, 2, TimeSpan.FromSeconds(20));

    public static SpfOptions From(MailwardSettings s) => new(
        s.Get("Spf:Mode").ToLowerInvariant() switch
        {
            "off" => SpfMode.Off,
            "mark" => SpfMode.Mark,
            "reject" => SpfMode.Reject,
            var other => throw new SettingsException($"setting Spf:Mode must be off, mark or reject, not '{other}'"),
        },
        s.GetInt("Spf:MaxDnsLookups", 1, 100),
        s.GetInt("Spf:MaxVoidLookups", 0, 100),
        TimeSpan.FromSeconds(s.GetInt("Spf:DeadlineSeconds", 1, 300)));
}
