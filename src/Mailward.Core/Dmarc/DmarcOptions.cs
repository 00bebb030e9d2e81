// The settings of the DMARC check (Dmarc:*), read and validated in one place.
using Mailward.Core.Configuration;

namespace Mailward.Core.Dmarc;

public enum DmarcMode
{
    /// <summary>Not evaluated.</summary>
    Off,

    /// <summary>Evaluated and recorded in Authentication-Results; nothing refused or moved.</summary>
    Mark,

    /// <summary>As mark, and the domain's policy applied: reject → 550 5.7.1, quarantine → the recipient's Junk folder.</summary>
    Enforce,
}

/// <param name="PublicSuffixList">The Public Suffix List file the organizational domain comes from (RFC 7489 §3.2).</param>
public sealed record DmarcOptions(DmarcMode Mode, string PublicSuffixList)
{
    public static DmarcOptions From(MailwardSettings s) => new(
        s.Get("Dmarc:Mode").ToLowerInvariant() switch
        {
            "off" => DmarcMode.Off,
            "mark" => DmarcMode.Mark,
            "enforce" => DmarcMode.Enforce,
            var other => throw new SettingsException($"setting Dmarc:Mode must be off, mark or enforce, not '{other}'"),
        },
        s.Get("Dmarc:PublicSuffixList"));
}
