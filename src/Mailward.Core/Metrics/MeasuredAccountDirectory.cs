// The account store's lookup latency (mailward_account_store_seconds): a decorator between the
// read cache and the provider, so only the lookups that reach the store are timed, each with one
// timestamp before and one after; the cache's hits cost nothing more.
using System.Diagnostics;
using Mailward.Core.Accounts;

namespace Mailward.Core.Metrics;

public sealed class MeasuredAccountDirectory<T>(T inner) : IAccountDirectory, IAccountChangeSource
    where T : IAccountDirectory, IAccountChangeSource
{
    public async ValueTask<DomainRecord?> FindDomainAsync(string name, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var found = await inner.FindDomainAsync(name, ct);
        MailwardMetrics.AccountStoreLookup("domain", started);
        return found;
    }

    public async ValueTask<UserRecord?> FindUserAsync(string local, string domain, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var found = await inner.FindUserAsync(local, domain, ct);
        MailwardMetrics.AccountStoreLookup("user", started);
        return found;
    }

    public async ValueTask<AliasRecord?> FindAliasAsync(string local, string domain, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var found = await inner.FindAliasAsync(local, domain, ct);
        MailwardMetrics.AccountStoreLookup("alias", started);
        return found;
    }

    public async ValueTask<string?> MapIpToDomainAsync(string address, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var found = await inner.MapIpToDomainAsync(address, ct);
        MailwardMetrics.AccountStoreLookup("ip_map", started);
        return found;
    }

    public async ValueTask<long> ReadChangeCounterAsync(CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var counter = await inner.ReadChangeCounterAsync(ct);
        MailwardMetrics.AccountStoreLookup("change_counter", started);
        return counter;
    }

    public event Action? Changed
    {
        add => inner.Changed += value;
        remove => inner.Changed -= value;
    }
}
