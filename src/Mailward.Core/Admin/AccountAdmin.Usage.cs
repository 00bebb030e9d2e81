// Mail usage against quotas, as the pages and the API show it: a user's (its maildirsize, as
// delivery reads it) and a domain's (the sum over its users: one file read per user, so the
// domain's figure is asked for on its own, never on a list page).
using Mailward.Core.Accounts;
using Mailward.Core.MailStore;

namespace Mailward.Core.Admin;

/// <param name="Used">Bytes and messages in the mailbox(es).</param>
/// <param name="Limit">The quota they count against (0 on a dimension: none).</param>
public sealed record UsageView(string Name, Quota Used, Quota Limit, int Users = 1);

public sealed partial class AccountAdmin
{
    public Task<UsageView> GetUsageAsync(Actor actor, string address)
    {
        var u = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.ReadUser, u.Domain, u.Address));
        return Task.FromResult(new UsageView(u.Address, MaildirQuota.Usage(MailStoreLayout.MaildirOf(layout.Resolve(u.Directory)), u.Quota), u.Quota));
    }

    public Task<UsageView> GetDomainUsageAsync(Actor actor, string domain)
    {
        var d = AuthorizedDomain(actor, AdminOperation.ReadDomain, domain, allowAlias: true);
        long bytes = 0, messages = 0;
        var users = 0;
        foreach (var u in store.ListUsers(d.Id))
        {
            var used = MaildirQuota.Usage(MailStoreLayout.MaildirOf(layout.Resolve(u.Directory)), u.Quota);
            bytes += used.Bytes;
            messages += used.Messages;
            users++;
        }
        return Task.FromResult(new UsageView(d.Name, new Quota(bytes, messages), d.Limits.DomainQuota, users));
    }
}
