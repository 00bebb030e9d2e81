// Who gets a bulletin: every user of the named domains (alias domains mean their real domain) or
// of every domain, minus the excluded addresses, read through AccountAdmin one domain at a time
// (one query per domain, however many users). With quotas respected, each user's usage and each
// domain's sum of them are read here too.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Admin;
using Mailward.Core.MailStore;

namespace Mailward.Core.Bulletins;

/// <summary>One user who is to get the bulletin.</summary>
/// <param name="Usage">Maildir++ usage now (only read when quotas are respected; else zero).</param>
public sealed record BulletinRecipient(string Address, string Domain, string Maildir, Quota Quota, Quota Usage, bool RefusesMail);

/// <param name="Excluded">Users of these domains left out by the exclude list.</param>
/// <param name="DomainQuotas">Each domain's quota and its users' summed usage (quotas respected only).</param>
public sealed record BulletinAudience(IReadOnlyList<BulletinRecipient> Recipients, int Excluded,
    IReadOnlyDictionary<string, (Quota Limit, Quota Usage)> DomainQuotas)
{
    /// <summary>
    /// The users of <paramref name="domains"/> (null: every domain) not in <paramref name="exclude"/>
    /// (addresses; an alias domain's address means the real domain's user). Unknown domains throw
    /// before anything is sent.
    /// </summary>
    public static async Task<BulletinAudience> GatherAsync(AccountAdmin admin, Actor actor, IReadOnlyList<string>? domains,
        IEnumerable<string> exclude, bool readUsage)
    {
        var names = new List<string>();
        if (domains is null)
            names.AddRange((await admin.ListDomainsAsync(actor)).Select(d => d.Name));
        else
            foreach (var d in domains)
            {
                var real = (await admin.GetDomainAsync(actor, d, allowAlias: true)).Name;
                if (!names.Contains(real))
                    names.Add(real);
            }
        var excluded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in exclude)
        {
            var a = MailAddress.Parse(e);
            var real = await admin.FindDomainAsync(actor, a.Domain);
            excluded.Add($"{a.Local}@{real?.Name ?? a.Domain}");
        }

        var recipients = new List<BulletinRecipient>();
        var quotas = new Dictionary<string, (Quota, Quota)>(StringComparer.Ordinal);
        var left = 0;
        foreach (var name in names)
        {
            var domain = await admin.GetDomainAsync(actor, name, allowAlias: false);
            long bytes = 0, messages = 0;
            foreach (var u in await admin.ListUsersAsync(actor, name))
            {
                var usage = readUsage ? MaildirQuota.Usage(u.Maildir, u.Quota) : new Quota(0, 0);
                bytes += usage.Bytes;
                messages += usage.Messages;
                if (excluded.Contains(u.Address))
                {
                    left++;
                    continue;
                }
                recipients.Add(new BulletinRecipient(u.Address, name, u.Maildir, u.Quota, usage, u.Flags.HasFlag(UserFlags.BounceMail)));
            }
            quotas[name] = (domain.Limits.DomainQuota, new Quota(bytes, messages));
        }
        return new BulletinAudience(recipients, left, quotas);
    }
}
