// The API's domain endpoints beyond the list and the users (vpopmaild's del_domain, add/del alias
// domain, catch-all, limits, usage, aliases and forwards): one AccountAdmin call each, its rules
// (AdminAuthorizer) and errors. Alias lines are addresses only here, as on the pages.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Api;

internal static partial class ApiEndpoints
{
    private static void MapDomains(WebApplication app)
    {
        AdminWeb.Map(app, "DELETE", "/api/v1/domains/{domain}", (context, user) => CallAsync(context, async admin =>
        {
            await admin.DeleteDomainAsync(user!.Actor, Route(context, "domain"));
            return Results.NoContent();
        }));

        AdminWeb.Map(app, "PUT", "/api/v1/domains/{domain}/catchall", (context, user) => CallAsync(context, async admin =>
        {
            var body = await BodyAsync<CatchAllBody>(context);
            return Results.Json(DomainJson.Of(await admin.SetCatchAllAsync(user!.Actor, Route(context, "domain"),
                AccountAdmin.ParseCatchAll(Required(body.CatchAll, "catchAll")))), Json);
        }));

        AdminWeb.Map(app, "PUT", "/api/v1/domains/{domain}/limits", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<LimitsBody>(context);
            var limits = new DomainLimits
            {
                MaxUsers = b.MaxUsers,
                MaxAliases = b.MaxAliases,
                MaxForwards = b.MaxForwards,
                MaxAutoresponders = b.MaxAutoresponders,
                MaxLists = b.MaxLists,
                DomainQuota = Quota.Parse(b.DomainQuota ?? "NOQUOTA"),
                DefaultUserQuota = Quota.Parse(b.DefaultUserQuota ?? "NOQUOTA"),
            };
            return Results.Json(DomainJson.Of(await admin.SetLimitsAsync(user!.Actor, Route(context, "domain"), limits)), Json);
        }));

        AdminWeb.Map(app, "GET", "/api/v1/domains/{domain}/usage", (context, user) => CallAsync(context, async admin =>
            Results.Json(UsageJson.Of(await admin.GetDomainUsageAsync(user!.Actor, Route(context, "domain"))), Json)));

        AdminWeb.Map(app, "GET", "/api/v1/domains/{domain}/aliasdomains", (context, user) => CallAsync(context, async admin =>
            Results.Json((await admin.ListDomainAliasesAsync(user!.Actor, Route(context, "domain"))).Select(a => a.Alias).ToList(), Json)));

        AdminWeb.Map(app, "POST", "/api/v1/domains/{domain}/aliasdomains", (context, user) => CallAsync(context, async admin =>
        {
            var body = await BodyAsync<AliasDomainBody>(context);
            await admin.AddDomainAliasAsync(user!.Actor, Required(body.Alias, "alias"), Route(context, "domain"));
            return Results.Json((await admin.ListDomainAliasesAsync(user.Actor, Route(context, "domain"))).Select(a => a.Alias).ToList(), Json, statusCode: 201);
        }));

        AdminWeb.Map(app, "DELETE", "/api/v1/domains/{domain}/aliasdomains/{alias}", (context, user) => CallAsync(context, async admin =>
        {
            var alias = Route(context, "alias");
            if (!(await admin.ListDomainAliasesAsync(user!.Actor, Route(context, "domain"))).Any(a => a.Alias == Core.Addresses.DomainName.Normalize(alias)))
                throw new AccountException(AccountError.DomainNotFound, $"{alias} is not an alias domain of {Route(context, "domain")}");
            await admin.DeleteDomainAliasAsync(user.Actor, alias);
            return Results.NoContent();
        }));

        AdminWeb.Map(app, "GET", "/api/v1/domains/{domain}/aliases", (context, user) => CallAsync(context, async admin =>
        {
            var page = await admin.ListAliasesAsync(user!.Actor, Route(context, "domain"), PageOf(context));
            return Results.Json(new PageJson<AliasJson>(page.Items.Select(AliasJson.Of).ToList(), page.Next), Json);
        }));

        AdminWeb.Map(app, "POST", "/api/v1/domains/{domain}/aliases", (context, user) => CallAsync(context, async admin =>
        {
            var body = await BodyAsync<AliasLineBody>(context);
            var address = $"{Required(body.Local, "local")}@{Route(context, "domain")}";
            var line = await admin.AddAliasLineAsync(user!.Actor, address, Required(body.Target, "target"));
            return Results.Json(new AliasLineJson(Core.Addresses.MailAddress.Parse(address).ToString(), line.TrimStart('&')), Json, statusCode: 201);
        }));

        AdminWeb.Map(app, "DELETE", "/api/v1/domains/{domain}/aliases/{local}", (context, user) => CallAsync(context, async admin =>
        {
            var line = context.Request.Query["target"].FirstOrDefault() is { Length: > 0 } t ? t : null;
            await admin.DeleteAliasAsync(user!.Actor, $"{Route(context, "local")}@{Route(context, "domain")}", line);
            return Results.NoContent();
        }));
    }

    /// <param name="CatchAll">bounce, delete, mailbox:USER or forward:ADDRESS.</param>
    public sealed record CatchAllBody(string? CatchAll);

    /// <summary>The limits, whole: an absent count is unlimited, an absent quota NOQUOTA.</summary>
    public sealed record LimitsBody(int? MaxUsers, int? MaxAliases, int? MaxForwards, int? MaxAutoresponders, int? MaxLists, string? DomainQuota, string? DefaultUserQuota);

    public sealed record AliasLineJson(string Address, string Target);

    public sealed record AliasDomainBody(string? Alias);

    /// <param name="Target">An address (the API, as the pages, sets forwards to addresses only).</param>
    public sealed record AliasLineBody(string? Local, string? Target);

    /// <param name="Targets">Each line: an address for a forward; file and program lines as the command line set them.</param>
    public sealed record AliasJson(string Address, string Local, IReadOnlyList<string> Targets, bool IsForward)
    {
        public static AliasJson Of(AliasView a) => new(a.Address, a.Local, a.Lines.Select(l => l.StartsWith('&') ? l[1..] : l).ToList(), a.Lines.All(l => l.StartsWith('&')));
    }

    /// <param name="Used">Bytes and messages as Maildir++ writes them (52428800S,1000C).</param>
    public sealed record UsageJson(string Name, long Bytes, long Messages, string Quota, int Mailboxes)
    {
        public static UsageJson Of(UsageView u) => new(u.Name, u.Used.Bytes, u.Used.Messages, u.Limit.ToString(), u.Users);
    }
}
