// GET /metrics (Prometheus text format 0.0.4, from MailwardMetrics' registry) and GET /healthz
// (200 "ok", or 503 naming what failed) on the Admin listener, both behind ScrapeAccess.
using Mailward.Core.Metrics;
using Mailward.Core.Queue;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Monitoring;

internal static class MonitoringEndpoints
{
    public static void Map(WebApplication app)
    {
        if (!app.Services.GetRequiredService<MetricsOptions>().Enabled)
            return;
        AdminWeb.Map(app, "GET", "/metrics", (context, _) =>
        {
            if (context.RequestServices.GetService<QueueStore>() is { } queue)
                MailwardMetrics.ReadQueue(queue, (context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow());
            return Task.FromResult(Results.Stream(stream => MailwardMetrics.Registry.CollectAndExportAsTextAsync(stream, context.RequestAborted),
                "text/plain; version=0.0.4; charset=utf-8"));
        });
        AdminWeb.Map(app, "GET", "/healthz", (context, _) =>
        {
            var parts = context.RequestServices.GetService<ServerHealth>()?.Check() ?? [("server", "no health checks in this host")];
            var failed = parts.Where(p => p.Problem is not null).ToList();
            var body = failed.Count == 0
                ? "ok\n" + string.Concat(parts.Select(p => $"{p.Part}: ok\n"))
                : "unhealthy\n" + string.Concat(failed.Select(p => $"{p.Part}: {p.Problem}\n"));
            return Task.FromResult(Results.Text(body, "text/plain; charset=utf-8", statusCode: failed.Count == 0 ? 200 : 503));
        });
    }
}
