// What TLS a destination requires (RFC 8461 §4, Remote:RequireTlsRoutes): a route or the smarthost
// named in Remote:RequireTlsRoutes must take the mail over TLS with a certificate valid for its
// host; a domain delivered by MX lookup follows its MTA-STS policy: in enforce mode only MX hosts
// that match the policy are tried, each over TLS with a certificate valid for its name (else the
// delivery is deferred, never sent in clear text); in testing mode every host is tried as before
// and what enforce would have refused is logged (RFC 8461 §5: testing reports, never refuses).
using Mailward.Core.MtaSts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Delivery.Remote;

/// <summary>One destination's TLS rules for one delivery attempt.</summary>
public sealed record DestinationTls(string Domain, MtaStsPolicy? Policy, TlsRequirement? Route, RemoteTrust Trust)
{
    public static DestinationTls None(string domain) => new(domain, null, null, RemoteTrust.SystemRoots);

    public bool Enforced => Policy is { Mode: MtaStsMode.Enforce };

    /// <summary>False for an MX host that an enforced policy does not list (RFC 8461 §4.1).</summary>
    public bool Allows(string mxHost) => !Enforced || Policy!.MatchesMx(mxHost);

    /// <summary>The verified TLS a session with <paramref name="host"/> needs; null: opportunistic.</summary>
    public TlsRequirement? For(string host) => Route ?? (Enforced ? new TlsRequirement(host, $"MTA-STS policy of {Domain}", Trust) : null);
}

public sealed partial class DeliveryTlsRules(MtaStsPolicies? mtaSts, IReadOnlyCollection<string> requireTlsRoutes, RemoteTrust trust, ILogger? logger = null)
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly HashSet<string> _routes = new(requireTlsRoutes.Select(r => r.TrimEnd('.')), StringComparer.OrdinalIgnoreCase);

    public async Task<DestinationTls> ForAsync(Destination destination, CancellationToken ct)
    {
        if (destination.Host is { } host)
            return RouteRequires(destination) ? new DestinationTls(destination.Domain, null,
                new TlsRequirement(host, destination.SmartHost ? "Remote:RequireTlsRoutes smarthost" : $"Remote:RequireTlsRoutes {destination.Domain}", trust), trust)
                : DestinationTls.None(destination.Domain);
        var policy = mtaSts is null ? null : await mtaSts.ForAsync(destination.Domain, ct);
        return new DestinationTls(destination.Domain, policy is { Mode: MtaStsMode.None } ? null : policy, null, trust);
    }

    /// <summary>After a session in testing mode: logs what enforce mode would have refused.</summary>
    public void Report(DestinationTls tls, string host, bool tlsUsed)
    {
        if (tls.Policy is not { Mode: MtaStsMode.Testing } policy)
            return;
        if (!policy.MatchesMx(host))
            WouldRefuse(_log, tls.Domain, host, "the MX host is not in the policy");
        else if (!tlsUsed)
            WouldRefuse(_log, tls.Domain, host, "no TLS");
    }

    /// <summary>An enforced policy that lists none of the MX hosts: deferred (RFC 8461 §4.2), with the patterns for the admin.</summary>
    public void NoMatchingMx(DestinationTls tls)
    {
        var patterns = string.Join(' ', tls.Policy!.Mx);
        MxRefused(_log, tls.Domain, patterns);
    }

    /// <summary>The route's own domain, a parent key (.example.com), or the word smarthost for the smarthost.</summary>
    private bool RouteRequires(Destination d)
    {
        if (_routes.Count == 0)
            return false;
        if (d.SmartHost)
            return _routes.Contains("smarthost");
        if (_routes.Contains(d.Domain))
            return true;
        for (var dot = d.Domain.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = d.Domain.IndexOf('.', dot + 1))
            if (_routes.Contains(d.Domain[dot..]))
                return true;
        return false;
    }

    [LoggerMessage(EventId = 3113, Level = LogLevel.Warning, Message = "mta-sts {Domain} testing: enforce would refuse {Host}: {Reason}")]
    private static partial void WouldRefuse(ILogger logger, string domain, string host, string reason);

    [LoggerMessage(EventId = 3114, Level = LogLevel.Warning, Message = "mta-sts {Domain} enforce: no MX host matches the policy (mx: {Patterns}); deferred")]
    private static partial void MxRefused(ILogger logger, string domain, string patterns);
}
