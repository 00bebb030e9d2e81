// POP-before-SMTP on port 25 (vpopmail's roaming users, Relay:RoamingMinutes, off by default): a
// client without AUTH whose address a user logged in from acts, for one transaction, as the user
// who owns its envelope sender. From then on it is that user as after AUTH: sender ownership,
// sending limits, relaying, and the queue envelope names it; users with the no-smtp, bounce-mail or
// no-relay flag never roam. No owner, no roaming: the session stays a stranger, and a deny rule
// for its address leaves no grant usable.
using Mailward.Core.Accounts;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession
{
    // The roaming user of the current transaction (set by MAIL, cleared with it).
    private UserRecord? _roamUser;

    /// <summary>Whom the session sends as: the authenticated user, or the roaming user of this transaction.</summary>
    private UserRecord? SessionUser => _authUser ?? _roamUser;

    private async ValueTask<UserRecord?> RoamingUserAsync(string sender, CancellationToken ct)
    {
        if (_info.Submission)
            return null; // submission requires AUTH (RFC 6409 §4.3)
        foreach (var user in await policy.RoamingUsersAsync(Client, ct))
        {
            if (!options.EnforceSenderOwnership || (logins is not null && await logins.MayUseSenderAsync(user, sender, ct)))
                return user;
        }
        return null;
    }
}
