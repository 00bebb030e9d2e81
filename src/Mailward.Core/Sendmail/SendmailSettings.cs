// Reads the Sendmail:* settings (and the message size limit sendmail shares with SMTP) once.
using Mailward.Core.Configuration;

namespace Mailward.Core.Sendmail;

public static class SendmailSettings
{
    /// <summary>The options for a server (or a sendmail acting for it) running as <paramref name="serverUid"/>.</summary>
    public static SendmailOptions From(MailwardSettings s, uint serverUid) => new(
        s.Hostname,
        (s.Get("Sendmail:DefaultDomain") is { Length: > 0 } d ? d : s.Hostname).ToLowerInvariant(),
        s.GetInt("Smtp:MaxMessageBytes", 1, int.MaxValue),
        new SendmailRules(s.Get("Sendmail:AllowedUsers"), s.Get("Sendmail:TrustedUsers"), serverUid));

    public static TimeSpan PickupScan(MailwardSettings s) => TimeSpan.FromSeconds(s.GetInt("Sendmail:PickupScanSeconds", 1, 86_400));
}
