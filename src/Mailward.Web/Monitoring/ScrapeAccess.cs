// Who may read /metrics and /healthz (docs/metrics.md): a client whose address is in
// Metrics:AllowFrom (loopback only by default), or, when Metrics:BearerToken is set, any client that
// sends it as "Authorization: Bearer <token>". Nobody else: never open to the world by default.
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Configuration;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Monitoring;

public sealed record MetricsOptions(bool Enabled, IReadOnlyList<IPNetwork> AllowFrom, string BearerToken)
{
    public static MetricsOptions From(MailwardSettings s) => new(
        s.GetBool("Metrics:Enabled"),
        s.Get("Metrics:AllowFrom").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => IPNetwork.TryParse(n.Contains('/', StringComparison.Ordinal) ? n : n + (n.Contains(':', StringComparison.Ordinal) ? "/128" : "/32"), out var net)
                ? net : throw new SettingsException($"setting Metrics:AllowFrom must list addresses or networks (CIDR), not '{n}'"))
            .ToList(),
        s.Get("Metrics:BearerToken").Trim());
}

internal static class ScrapeAccess
{
    public static bool Allows(HttpContext context, MetricsOptions options)
    {
        var client = AdminWeb.ClientAddress(context);
        if (options.AllowFrom.Any(n => n.Contains(client)))
            return true;
        if (options.BearerToken.Length == 0)
            return false;
        var header = context.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        // Digests of both: the comparison takes the same time whatever the length or the first wrong byte.
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[scheme.Length..].Trim())),
            SHA256.HashData(Encoding.UTF8.GetBytes(options.BearerToken)));
    }

    /// <summary>403, or 401 asking for the token when one is configured (RFC 6750 §3).</summary>
    public static IResult Refusal(HttpContext context, MetricsOptions options)
    {
        if (options.BearerToken.Length == 0)
            return Results.Text("forbidden: this address is not in Metrics:AllowFrom\n", "text/plain; charset=utf-8", statusCode: 403);
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"mailward\"";
        return Results.Text("unauthorized: send the Metrics:BearerToken as a bearer token\n", "text/plain; charset=utf-8", statusCode: 401);
    }
}
