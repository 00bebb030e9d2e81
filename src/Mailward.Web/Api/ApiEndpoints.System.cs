// The API's system endpoints (vpopmaild's relay and IP map commands, and the queue): relay rules,
// IP maps, and the running server's queue (list by cursor, retry all now, delete one). A network
// holds a "/", so it travels in the query (?network=), never in the path.
using Mailward.Core.Admin;
using Mailward.Core.Delivery;
using Mailward.Web.Hosting;
using Mailward.Web.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Api;

internal static partial class ApiEndpoints
{
    private static void MapSystem(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/api/v1/relayrules", (context, user) => CallAsync(context, async admin =>
            Results.Json((await admin.ListRelayRulesAsync(user!.Actor)).Select(RelayRuleJson.Of).ToList(), Json)));

        AdminWeb.Map(app, "POST", "/api/v1/relayrules", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<RelayRuleBody>(context);
            var r = await admin.SetRelayRuleAsync(user!.Actor, Required(b.Network, "network"), SystemPages.Action(Required(b.Action, "action")), b.Comment);
            return Results.Json(RelayRuleJson.Of(r), Json, statusCode: 201);
        }));

        AdminWeb.Map(app, "DELETE", "/api/v1/relayrules", (context, user) => CallAsync(context, async admin =>
        {
            await admin.DeleteRelayRuleAsync(user!.Actor, Required(context.Request.Query["network"].FirstOrDefault(), "network (in the query)"));
            return Results.NoContent();
        }));

        AdminWeb.Map(app, "GET", "/api/v1/ipmaps", (context, user) => CallAsync(context, async admin =>
            Results.Json(await admin.ListIpMapAsync(user!.Actor), Json)));

        AdminWeb.Map(app, "POST", "/api/v1/ipmaps", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<IpMapBody>(context);
            return Results.Json(await admin.AddIpMapAsync(user!.Actor, Required(b.Address, "address"), Required(b.Domain, "domain")), Json, statusCode: 201);
        }));

        AdminWeb.Map(app, "DELETE", "/api/v1/ipmaps/{address}", (context, user) => CallAsync(context, async admin =>
        {
            await admin.DeleteIpMapAsync(user!.Actor, Route(context, "address"), context.Request.Query["domain"].FirstOrDefault() is { Length: > 0 } d ? d : null);
            return Results.NoContent();
        }));

        AdminWeb.Map(app, "GET", "/api/v1/queue", (context, user) => CallAsync(context, async admin =>
        {
            var page = await admin.ListQueueAsync(user!.Actor, SystemPages.Queue(context), PageOf(context));
            return Results.Json(new PageJson<MessageStatus>(page.Items, page.Next), Json);
        }));

        AdminWeb.Map(app, "POST", "/api/v1/queue/flush", (context, user) => CallAsync(context, async admin =>
            Results.Json(new FlushJson(await admin.FlushQueueAsync(user!.Actor, SystemPages.Queue(context))), Json)));

        AdminWeb.Map(app, "DELETE", "/api/v1/queue/{id}", (context, user) => CallAsync(context, async admin =>
        {
            await admin.DeleteQueuedAsync(user!.Actor, SystemPages.Queue(context), Route(context, "id"));
            return Results.NoContent();
        }));
    }

    /// <param name="Action">allow or deny.</param>
    public sealed record RelayRuleBody(string? Network, string? Action, string? Comment);

    public sealed record RelayRuleJson(string Network, string Action, string Comment, DateTimeOffset CreatedAt)
    {
        public static RelayRuleJson Of(RelayRuleView r) => new(r.Network, r.Action.ToString().ToLowerInvariant(), r.Comment, r.CreatedAt);
    }

    public sealed record IpMapBody(string? Address, string? Domain);

    /// <param name="Scheduled">Deferred messages scheduled for delivery now.</param>
    public sealed record FlushJson(int Scheduled);
}
