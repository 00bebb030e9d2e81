// The quota roots of a mailbox owner (RFC 9208 over Maildir++): the user's quota with the usage its
// maildirsize keeps, and the domain's quota with the sum of its users' usage (vmoddomlimits -Q), the
// same figures delivery checks (LocalDelivery.OverQuotaAsync).
using Mailward.Core.Accounts;

namespace Mailward.Core.MailStore.Quotas;

public interface IOwnerQuotas
{
    /// <summary>The owner's quota roots that have a limit (none when the account is gone or unlimited).</summary>
    ValueTask<IReadOnlyList<QuotaRoot>> RootsAsync(MailboxOwner owner, CancellationToken ct = default);
}

public sealed class AccountOwnerQuotas(IAccountDirectory directory, IAccountStore store, MailStoreLayout layout, TimeProvider? time = null)
    : IOwnerQuotas
{
    public const string UserRoot = "User quota";
    public const string DomainRoot = "Domain quota";
    private readonly DomainUsageCache _domainUsage = new(store, layout, time ?? TimeProvider.System);

    public async ValueTask<IReadOnlyList<QuotaRoot>> RootsAsync(MailboxOwner owner, CancellationToken ct = default)
    {
        var at = owner.Address.LastIndexOf('@');
        if (at <= 0)
            return [];
        var user = await directory.FindUserAsync(owner.Address[..at], owner.Address[(at + 1)..], ct);
        var domain = await directory.FindDomainAsync(owner.Address[(at + 1)..], ct);
        var roots = new List<QuotaRoot>(2);
        if (user is { Quota.IsUnlimited: false })
            roots.Add(new QuotaRoot(UserRoot, user.Quota, MaildirQuota.Usage(MailStoreLayout.MaildirOf(layout.Resolve(user.Directory)), user.Quota)));
        if (domain is { Limits.DomainQuota.IsUnlimited: false })
            roots.Add(new QuotaRoot(DomainRoot, domain.Limits.DomainQuota, _domainUsage.Usage(domain)));
        return roots;
    }
}
