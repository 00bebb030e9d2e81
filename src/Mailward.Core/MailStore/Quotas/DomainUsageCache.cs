// A domain's total mail usage for its domain quota (vmoddomlimits -Q): the sum of its users'
// maildirsize figures, remembered for a minute so that a busy domain is not summed per message.
// Between sums the domain may overshoot by what arrives within that minute, as vpopmail's did.
using System.Collections.Concurrent;
using Mailward.Core.Accounts;

namespace Mailward.Core.MailStore.Quotas;

internal sealed class DomainUsageCache(IAccountStore store, MailStoreLayout layout, TimeProvider time)
{
    private static readonly TimeSpan Fresh = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<long, (DateTimeOffset At, Quota Usage)> _sums = new();

    public Quota Usage(DomainRecord domain)
    {
        var now = time.GetUtcNow();
        if (_sums.TryGetValue(domain.Id, out var cached) && now - cached.At < Fresh)
            return cached.Usage;
        long bytes = 0, messages = 0;
        foreach (var user in store.ListUsers(domain.Id))
        {
            var u = MaildirQuota.Usage(MailStoreLayout.MaildirOf(layout.Resolve(user.Directory)), user.Quota);
            bytes += u.Bytes;
            messages += u.Messages;
        }
        var usage = new Quota(bytes, messages);
        _sums[domain.Id] = (now, usage);
        return usage;
    }
}
