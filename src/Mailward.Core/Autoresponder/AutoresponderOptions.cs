// The autoresponder's settings (Autoresponder:*, docs/autoresponder.md): whether local delivery
// answers at all, how much of a header the rules read, how many expired memory rows one reply
// removes, and the bounds the admin operations check a new autoresponder against.
using Mailward.Core.Admin;
using Mailward.Core.Configuration;

namespace Mailward.Core.Autoresponder;

public sealed record AutoresponderOptions(bool Enabled = true, int HeaderBytes = 65536, int CleanupBatch = 100)
{
    public static AutoresponderOptions Default { get; } = new();

    public static AutoresponderOptions From(MailwardSettings s) => new(
        s.GetBool("Autoresponder:Enabled"),
        s.GetInt("Autoresponder:HeaderBytes", 1024, 1 << 24),
        s.GetInt("Autoresponder:CleanupBatch", 1, 100_000));

    /// <summary>What AccountAdmin checks a new autoresponder against.</summary>
    public static AutoresponderLimits Limits(MailwardSettings s) => new(
        s.GetInt("Autoresponder:MaxTextBytes", 1, 1 << 20),
        s.GetInt("Autoresponder:DefaultIntervalDays", 1, AutoresponderLimits.MaxIntervalDays));
}
