// vdeloldusers: the users who have not logged in (any service: POP3, IMAP, SMTP AUTH, as
// LoginService records it) since a cutoff. A user who never logged in counts from its creation
// time. postmaster and abuse (RFC 2142) and system admins are never among them. Deleting goes
// through DeleteUserAsync, the path of `user del`.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Core.Admin;

/// <param name="LastActive">The last login, or the creation time when there was none.</param>
/// <param name="NeverLoggedIn">True when <paramref name="LastActive"/> is the creation time.</param>
public sealed record InactiveUser(UserView User, DateTimeOffset LastActive, bool NeverLoggedIn);

public sealed partial class AccountAdmin
{
    /// <summary>
    /// The users of <paramref name="domains"/> (null: every domain the actor administers) last
    /// active before <paramref name="cutoff"/>, longest idle first, leaving out <paramref name="exclude"/>
    /// (addresses), the RFC 2142 mailboxes and system admins.
    /// </summary>
    public async Task<IReadOnlyList<InactiveUser>> FindInactiveUsersAsync(Actor actor, DateTimeOffset cutoff, IReadOnlyList<string>? domains = null,
        IEnumerable<string>? exclude = null)
    {
        var names = domains is null
            ? (await ListDomainsAsync(actor)).Select(d => d.Name).ToList()
            : domains.Select(d => AuthorizedDomain(actor, AdminOperation.ListUsers, d, allowAlias: true).Name).Distinct().ToList();
        // An alias domain's address means the real domain's user.
        var excluded = (exclude ?? []).Select(MailAddress.Parse).Select(a => $"{a.Local}@{store.FindDomain(a.Domain)?.Name ?? a.Domain}")
            .ToHashSet(StringComparer.Ordinal);
        var found = new List<InactiveUser>();
        foreach (var name in names)
        {
            foreach (var u in await ListUsersAsync(actor, name))
            {
                if (AdminAuthorizer.ProtectedLocals.Contains(u.Local) || u.Flags.HasFlag(UserFlags.SystemAdmin) || excluded.Contains(u.Address))
                    continue;
                var last = u.LastLogin?.At ?? u.CreatedAt;
                if (last < cutoff)
                    found.Add(new InactiveUser(u, last, u.LastLogin is null));
            }
        }
        return found.OrderBy(f => f.LastActive).ThenBy(f => f.User.Address, StringComparer.Ordinal).ToList();
    }
}
