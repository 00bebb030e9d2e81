// The API's grants of domains to accounts (mailward admin grant|revoke|list): the system's alone,
// as AdminAuthorizer rules (a domain admin grants nothing, not even to itself; a key makes no admins;
// a read-only system key may read the list). AccountAdmin writes the audit rows.
using Mailward.Core.Addresses;
using Mailward.Core.Admin;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Api;

internal static partial class ApiEndpoints
{
    private static void MapAdmins(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/api/v1/admins", (context, user) => CallAsync(context, async admin =>
            Results.Json((await admin.ListAdminGrantsAsync(user!.Actor)).Select(g => new AdminGrantJson(g.Address, g.Domain, null)).ToList(), Json)));

        AdminWeb.Map(app, "POST", "/api/v1/admins", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<AdminGrantBody>(context);
            var (address, domain) = (Required(b.Address, "address"), Required(b.Domain, "domain"));
            var added = await admin.GrantAdminAsync(user!.Actor, address, domain);
            return Results.Json(new AdminGrantJson(MailAddress.Parse(address).ToString(), DomainName.Normalize(domain), added), Json, statusCode: 201);
        }));

        // Revoking a grant there is not is no error (as the command): the answer is 204 either way.
        AdminWeb.Map(app, "DELETE", "/api/v1/admins/{address}/{domain}", (context, user) => CallAsync(context, async admin =>
        {
            await admin.RevokeAdminAsync(user!.Actor, Route(context, "address"), Route(context, "domain"));
            return Results.NoContent();
        }));
    }

    public sealed record AdminGrantBody(string? Address, string? Domain);

    /// <param name="Address">The account that administers the domain.</param>
    /// <param name="Added">On a grant: whether it is new (false: the account had it already); null in the list.</param>
    public sealed record AdminGrantJson(string Address, string Domain, bool? Added);
}
