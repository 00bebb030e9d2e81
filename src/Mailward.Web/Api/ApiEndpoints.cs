// The JSON API under /api/v1: the same AccountAdmin operations as the pages, JSON in and out,
// errors as RFC 9457 problem details with the commands' error names and exit codes, cursor pages
// ({items, next}; ?search=&after=&limit=). Authenticated by the browser session (unsafe methods
// carry the session's token in X-CSRF-Token) or an API key (Authorization: Bearer). A body may hold only
// the members named here: anything else (flags, limits, another domain) is refused, not ignored.
using System.Text.Json;
using System.Text.Json.Serialization;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Mailward.Web.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Api;

internal static partial class ApiEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", OpenApiDocument.Route, (_, _) => Task.FromResult(Results.Text(OpenApiDocument.Text.Value, "application/json; charset=utf-8")));

        AdminWeb.Map(app, "GET", "/api/v1/me", (context, user) => Task.FromResult(Results.Json(new MeJson(user!.Address, Layout.RoleName(user.Role),
            user.Actor.HasSystemScope ? null : user.Actor.Domains, user.IsApiKey ? [] : FlagNames(user.Record.Flags),
            user.IsApiKey ? null : user.Session.CsrfToken, user.Actor.ReadOnly), Json)));

        AdminWeb.Map(app, "PUT", "/api/v1/me/password", (context, user) => CallAsync(context, async admin =>
        {
            var body = await BodyAsync<PasswordBody>(context);
            await AccountPages.ChangeOwnPasswordAsync(context, user!, admin, body.OldPassword ?? "", body.NewPassword ?? "", body.NewPassword ?? "");
            return Results.NoContent();
        }));

        AdminWeb.Map(app, "GET", "/api/v1/domains", (context, user) => CallAsync(context, async admin =>
        {
            var page = await admin.ListDomainsAsync(user!.Actor, PageOf(context));
            return Results.Json(new PageJson<DomainJson>(page.Items.Select(DomainJson.Of).ToList(), page.Next), Json);
        }));

        AdminWeb.Map(app, "POST", "/api/v1/domains", (context, user) => CallAsync(context, async admin =>
        {
            var body = await BodyAsync<NewDomainBody>(context);
            var r = await admin.AddDomainAsync(user!.Actor, Required(body.Name, "name"),
                body.PostmasterPassword is { Length: > 0 } pw ? new PasswordInput.Clear(pw) : null);
            return Results.Json(new NewDomainJson(DomainJson.Of(r.Domain), r.GeneratedPassword), Json, statusCode: 201);
        }));

        AdminWeb.Map(app, "GET", "/api/v1/domains/{domain}", (context, user) => CallAsync(context, async admin =>
        {
            var info = await admin.GetDomainInfoAsync(user!.Actor, Route(context, "domain"));
            return Results.Json(new DomainInfoJson(DomainJson.Of(info.Domain), info.AliasDomains, info.Users, info.Aliases, info.Forwards), Json);
        }));

        AdminWeb.Map(app, "GET", "/api/v1/domains/{domain}/users", (context, user) => CallAsync(context, async admin =>
        {
            var page = await admin.ListUsersAsync(user!.Actor, Route(context, "domain"), PageOf(context));
            return Results.Json(new PageJson<UserJson>(page.Items.Select(UserJson.Of).ToList(), page.Next), Json);
        }));

        AdminWeb.Map(app, "POST", "/api/v1/domains/{domain}/users", (context, user) => CallAsync(context, async admin =>
        {
            var body = await BodyAsync<NewUserBody>(context);
            var r = await admin.AddUserAsync(user!.Actor, $"{Required(body.Local, "local")}@{Route(context, "domain")}",
                new PasswordInput.Clear(Required(body.Password, "password")), body.Comment, body.Quota is { } q ? Quota.Parse(q) : null);
            return Results.Json(UserJson.Of(r.User), Json, statusCode: 201);
        }));

        // One user's answer adds its last login per service (vuserinfo's, as the user's page shows them); lists leave them out.
        AdminWeb.Map(app, "GET", "/api/v1/users/{address}", (context, user) => CallAsync(context, async admin =>
        {
            var u = await admin.GetUserAsync(user!.Actor, Route(context, "address"));
            var logins = await admin.ListLoginsAsync(user.Actor, u.Address);
            return Results.Json(UserJson.Of(u) with { Logins = logins.Select(l => new LastLoginJson(l.At, l.Address, l.Service)).ToList() }, Json);
        }));

        AdminWeb.Map(app, "DELETE", "/api/v1/users/{address}", (context, user) => CallAsync(context, async admin =>
        {
            await admin.DeleteUserAsync(user!.Actor, Route(context, "address"));
            return Results.NoContent();
        }));

        AdminWeb.Map(app, "PUT", "/api/v1/users/{address}/quota", (context, user) => CallAsync(context, async admin =>
        {
            var body = await BodyAsync<QuotaBody>(context);
            return Results.Json(UserJson.Of(await admin.SetQuotaAsync(user!.Actor, Route(context, "address"), Quota.Parse(Required(body.Quota, "quota")))), Json);
        }));

        MapKeys(app);
        MapAdmins(app);
        MapAudit(app);
        MapDomains(app);
        MapLists(app);
        MapUsers(app);
        MapSystem(app);
    }

    private static void MapKeys(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/api/v1/keys", (context, user) => CallAsync(context, async admin =>
        {
            var now = context.RequestServices.GetService<TimeProvider>()?.GetUtcNow() ?? DateTimeOffset.UtcNow;
            return Results.Json((await admin.ListApiKeysAsync(user!.Actor)).Select(k => ApiKeyJson.Of(k, now)).ToList(), Json);
        }));

        AdminWeb.Map(app, "POST", "/api/v1/keys", (context, user) => CallAsync(context, async admin =>
        {
            var body = await BodyAsync<NewKeyBody>(context);
            var r = await admin.AddApiKeyAsync(user!.Actor, Required(body.Name, "name"), body.Domains, body.ReadOnly ?? false,
                body.Days is { } days ? TimeSpan.FromDays(days) : null);
            var now = context.RequestServices.GetService<TimeProvider>()?.GetUtcNow() ?? DateTimeOffset.UtcNow;
            return Results.Json(new NewKeyJson(ApiKeyJson.Of(r.Key, now), r.Token), Json, statusCode: 201);
        }));

        AdminWeb.Map(app, "DELETE", "/api/v1/keys/{name}", (context, user) => CallAsync(context, async admin =>
        {
            await admin.RevokeApiKeyAsync(user!.Actor, Route(context, "name"));
            return Results.NoContent();
        }));
    }

    private static async Task<IResult> CallAsync(HttpContext context, Func<AccountAdmin, Task<IResult>> call)
    {
        try
        {
            return await call(context.RequestServices.GetRequiredService<AccountAdmin>());
        }
        catch (AccountException e)
        {
            return Problems.From(e);
        }
        catch (BadBodyException e)
        {
            return Problems.BadBody(e.Message);
        }
    }

    private static async Task<T> BodyAsync<T>(HttpContext context) where T : class
    {
        if (!context.Request.HasJsonContentType())
            throw new BadBodyException("the body must be JSON (Content-Type: application/json)");
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(context.Request.Body, Json, context.RequestAborted)
                ?? throw new BadBodyException("the body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new BadBodyException($"the body is not what this endpoint takes: {e.Message}");
        }
    }

    private static string Required(string? value, string name) =>
        value ?? throw new AccountException(AccountError.InvalidArgument, $"the body needs \"{name}\"");

    private static string Route(HttpContext context, string name) => context.GetRouteValue(name) as string ?? "";

    private static PageRequest PageOf(HttpContext context)
    {
        var q = context.Request.Query;
        var limit = context.RequestServices.GetRequiredService<AdminWebOptions>().PageSize;
        if (q["limit"].FirstOrDefault() is { Length: > 0 } l)
            limit = int.TryParse(l, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= PageRequest.MaxLimit ? n
                : throw new AccountException(AccountError.InvalidArgument, $"limit must be a whole number from 1 to {PageRequest.MaxLimit}, not '{l}'");
        return new PageRequest(q["after"].FirstOrDefault() is { Length: > 0 } a ? a : null, limit, q["search"].FirstOrDefault() is { Length: > 0 } s ? s : null);
    }

    private static List<string> FlagNames(UserFlags flags) => UserFlagNames.ByName.Where(kv => flags.HasFlag(kv.Value)).Select(kv => kv.Key).ToList();

    private sealed class BadBodyException(string message) : Exception(message);

    // --- what goes in ----------------------------------------------------------------------------

    public sealed record NewDomainBody(string? Name, string? PostmasterPassword);

    public sealed record NewUserBody(string? Local, string? Password, string? Quota, string? Comment);

    public sealed record QuotaBody(string? Quota);

    public sealed record PasswordBody(string? OldPassword, string? NewPassword);

    /// <param name="Domains">The domains the key reaches; null or absent: the whole system.</param>
    /// <param name="Days">How long it lives (default Admin:ApiKeyDefaultDays, at most Admin:ApiKeyMaxDays).</param>
    public sealed record NewKeyBody(string? Name, IReadOnlyList<string>? Domains, bool? ReadOnly, int? Days);

    // --- what goes out (no store ids, no paths, no secrets) ------------------------------------------

    /// <param name="Address">The account's address, or the API key's name.</param>
    /// <param name="CsrfToken">The session's token (null for a key: a bearer is not sent by browsers on their own).</param>
    public sealed record MeJson(string Address, string Role, IReadOnlyList<string>? Domains, IReadOnlyList<string> Flags, string? CsrfToken, bool ReadOnly);

    public sealed record PageJson<T>(IReadOnlyList<T> Items, string? Next);

    public sealed record LimitsJson(int? MaxUsers, int? MaxAliases, int? MaxForwards, int? MaxAutoresponders, int? MaxLists, string DomainQuota, string DefaultUserQuota);

    public sealed record DomainJson(string Name, string CatchAll, LimitsJson Limits, DateTimeOffset CreatedAt)
    {
        public static DomainJson Of(DomainView d) => new(d.Name, d.CatchAll.ToString(),
            new LimitsJson(d.Limits.MaxUsers, d.Limits.MaxAliases, d.Limits.MaxForwards, d.Limits.MaxAutoresponders, d.Limits.MaxLists,
                d.Limits.DomainQuota.ToString(), d.Limits.DefaultUserQuota.ToString()), d.CreatedAt);
    }

    /// <param name="Domains">null: the whole system.</param>
    /// <param name="State">active, expired or revoked.</param>
    public sealed record ApiKeyJson(string Name, string Id, IReadOnlyList<string>? Domains, bool ReadOnly, string CreatedBy,
        DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt, string State)
    {
        public static ApiKeyJson Of(ApiKeyView k, DateTimeOffset now) =>
            new(k.Name, k.Id, k.Domains, k.ReadOnly, k.CreatedBy, k.CreatedAt, k.ExpiresAt, k.RevokedAt, k.State(now));
    }

    /// <param name="Token">The key to send as Authorization: Bearer; shown this once, stored nowhere.</param>
    public sealed record NewKeyJson(ApiKeyJson Key, string Token);

    public sealed record NewDomainJson(DomainJson Domain, string? GeneratedPassword);

    public sealed record DomainInfoJson(DomainJson Domain, IReadOnlyList<string> AliasDomains, int Users, int Aliases, int Forwards);

    public sealed record LastLoginJson(DateTimeOffset At, string Address, string Service);

    /// <param name="LastLogin">The latest login of any service.</param>
    /// <param name="Logins">The last login per service (GET /api/v1/users/{address} only; null in lists and in the answers of changes).</param>
    public sealed record UserJson(string Address, string Local, string Domain, string Name, string Quota, IReadOnlyList<string> Flags,
        DateTimeOffset CreatedAt, LastLoginJson? LastLogin, bool CanLogIn, IReadOnlyList<LastLoginJson>? Logins = null)
    {
        public static UserJson Of(UserView u) => new(u.Address, u.Local, u.Domain, u.Gecos, u.Quota.ToString(), FlagNames(u.Flags), u.CreatedAt,
            u.LastLogin is { } l ? new LastLoginJson(l.At, l.Address, l.Service) : null, u.CanLogIn);
    }
}
