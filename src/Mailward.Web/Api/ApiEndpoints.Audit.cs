// The audit log through the API: GET /api/v1/audit?domain=&after=&limit=, newest first, the same
// rows and scope as the page (AccountAdmin.ListAuditAsync); the cursor is the last row's id.
using Mailward.Core.Accounts;
using Mailward.Web.Hosting;
using Mailward.Web.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Api;

internal static partial class ApiEndpoints
{
    private static void MapAudit(WebApplication app) =>
        AdminWeb.Map(app, "GET", "/api/v1/audit", (context, user) => CallAsync(context, async admin =>
        {
            var q = context.Request.Query;
            var paging = PageOf(context);
            var page = await admin.ListAuditAsync(user!.Actor, AuditPages.Cursor(paging.After), paging.Size,
                q["domain"].FirstOrDefault() is { Length: > 0 } d ? d : null);
            return Results.Json(new PageJson<AuditJson>(page.Items.Select(AuditJson.Of).ToList(), page.Next), Json);
        }));

    /// <param name="Before">The target's state before the change, as text without secrets (null: it did not exist).</param>
    public sealed record AuditJson(long Id, DateTimeOffset At, string Actor, string ActorKind, string Origin, string Operation, string Target,
        string? Domain, string Outcome, string? Detail, string? Before, string? After)
    {
        public static AuditJson Of(AuditRecord r) => new(r.Id, r.At, r.Actor, r.ActorKind, r.Origin, r.Operation, r.Target, r.Domain, r.Outcome,
            r.Detail, r.Before, r.After);
    }
}
