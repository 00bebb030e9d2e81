// Remote delivery's TLS rules built from the settings once at start-up: MTA-STS (its DNS through the
// policy resolver, its fetcher, its cache in DATA/mta-sts) and the routes that require TLS.
using Mailward.Core.Configuration;
using Mailward.Core.Delivery.Remote;
using Mailward.Core.PolicyDns;
using Microsoft.Extensions.Logging;

namespace Mailward.Core.MtaSts;

public static class MtaStsSetup
{
    public static DeliveryTlsRules Rules(MailwardSettings settings, string dataFolder, IPolicyDns dns, TimeProvider time, ILoggerFactory logs)
    {
        var trust = RemoteTrust.Load(settings.Get("Remote:ExtraRootCertificates"));
        var options = MtaStsOptions.From(settings);
        MtaStsPolicies? policies = null;
        if (options.Enabled)
        {
            var store = new MtaStsStore(Path.Combine(dataFolder, "mta-sts"), options.MaxPolicyBytes);
            store.RemoveLeftovers();
            policies = new MtaStsPolicies(dns, new MtaStsFetcher(dns, trust, options), store, options, time, logs.CreateLogger<MtaStsPolicies>());
        }
        var routes = settings.Get("Remote:RequireTlsRoutes").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new DeliveryTlsRules(policies, routes, trust, logs.CreateLogger<DeliveryTlsRules>());
    }
}
