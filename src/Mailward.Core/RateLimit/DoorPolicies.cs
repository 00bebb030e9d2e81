// The door's per-client limits put around the sender checks, from the settings: the rates and the
// greet wait (DoorLimitsPolicy) first, greylisting (GreylistPolicy, when on) last, on the recipients
// every other check accepted. The server's composition calls this once.
using Mailward.Core.Accounts;
using Mailward.Core.Configuration;
using Mailward.Core.Greylist;
using Mailward.Core.Policy;
using Microsoft.Extensions.Logging;

namespace Mailward.Core.RateLimit;

public static class DoorPolicies
{
    public static ISmtpPolicy Compose(MailAuthPolicy auth, MailwardSettings settings, IAccountStore accounts, TimeProvider time, ILoggerFactory logs)
    {
        var limits = DoorLimitOptions.From(settings);
        ISmtpPolicy door = new DoorLimitsPolicy(auth, auth.Inner, new ClientRates(limits, time), logs.CreateLogger<DoorLimitsPolicy>());
        var greylist = GreylistOptions.From(settings);
        if (greylist.Enabled && accounts is IGreylistStore store)
            door = new GreylistPolicy(door, auth.Inner, store, greylist, time, logs.CreateLogger<GreylistPolicy>());
        return door;
    }
}
