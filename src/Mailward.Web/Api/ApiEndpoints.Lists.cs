// The API's mailing-list endpoints (issue 15 item 6; docs/lists.md, "Commands"): a domain's lists,
// one list's settings, and its member sets (subscribers, moderators, allow, deny, digest) by cursor
// pages, each one AccountAdmin call over ListAdmin, the operations `mailward list` uses.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Lists;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Api;

internal static partial class ApiEndpoints
{
    private static void MapLists(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/api/v1/domains/{domain}/lists", (context, user) => CallAsync(context, async admin =>
            Results.Json((await admin.ListListsAsync(user!.Actor, Route(context, "domain"))).Select(ListJson.Of).ToList(), Json)));

        AdminWeb.Map(app, "POST", "/api/v1/domains/{domain}/lists", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<NewListBody>(context);
            return Results.Json(ListJson.Of(await admin.AddListAsync(user!.Actor, $"{Required(b.Local, "local")}@{Route(context, "domain")}", ListSettings(b.Settings))),
                Json, statusCode: 201);
        }));

        AdminWeb.Map(app, "GET", "/api/v1/domains/{domain}/lists/{list}", (context, user) => CallAsync(context, async admin =>
            Results.Json(ListJson.Of(await admin.GetListAsync(user!.Actor, ListAddress(context))), Json)));

        AdminWeb.Map(app, "PATCH", "/api/v1/domains/{domain}/lists/{list}", (context, user) => CallAsync(context, async admin =>
        {
            var change = ListSettings(await BodyAsync<ListSettingsBody>(context));
            return Results.Json(ListJson.Of(await admin.SetListAsync(user!.Actor, ListAddress(context), change)), Json);
        }));

        AdminWeb.Map(app, "DELETE", "/api/v1/domains/{domain}/lists/{list}", (context, user) => CallAsync(context, async admin =>
        {
            await admin.DeleteListAsync(user!.Actor, ListAddress(context));
            return Results.NoContent();
        }));

        AdminWeb.Map(app, "GET", "/api/v1/domains/{domain}/lists/{list}/{set}", (context, user) => CallAsync(context, async admin =>
        {
            var page = await admin.ListListMembersAsync(user!.Actor, ListAddress(context), SetOf(context), PageOf(context));
            return Results.Json(new PageJson<string>(page.Items, page.Next), Json);
        }));

        AdminWeb.Map(app, "POST", "/api/v1/domains/{domain}/lists/{list}/{set}", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<MembersBody>(context);
            if (b.Addresses is not { Count: > 0 } addresses)
                throw new AccountException(AccountError.InvalidArgument, "the body needs \"addresses\": one address or more");
            return Results.Json(new MembersChangedJson(await admin.ChangeListMembersAsync(user!.Actor, ListAddress(context), SetOf(context), addresses, add: true)), Json);
        }));

        AdminWeb.Map(app, "DELETE", "/api/v1/domains/{domain}/lists/{list}/{set}/{member}", (context, user) => CallAsync(context, async admin =>
        {
            await admin.ChangeListMembersAsync(user!.Actor, ListAddress(context), SetOf(context), [Route(context, "member")], add: false);
            return Results.NoContent();
        }));
    }

    private static string ListAddress(HttpContext context) => $"{Route(context, "list")}@{Route(context, "domain")}";

    /// <summary>The member set a route names: subscribers, moderators, allow, deny or digest.</summary>
    internal static MemberSet SetOf(string name) => name switch
    {
        "subscribers" => MemberSet.Subscribers,
        "moderators" => MemberSet.Moderators,
        "allow" => MemberSet.Allow,
        "deny" => MemberSet.Deny,
        "digest" => MemberSet.Digest,
        _ => throw new AccountException(AccountError.InvalidArgument, $"not a member set: {name} (subscribers, moderators, allow, deny, digest)"),
    };

    private static MemberSet SetOf(HttpContext context) => SetOf(Route(context, "set"));

    private static ListSettingsChange ListSettings(ListSettingsBody? b) =>
        b is null ? new() : new(b.Name, b.Policy, b.Prefix, b.ReplyTo, b.FromRewrite, b.MaxBytes, b.Owner, b.Trailer,
            b.ConfirmUnsubscribe is { } u ? (u ? "yes" : "no") : null);

    /// <summary>A list's settings; an absent member keeps its value (a new list: the default).</summary>
    /// <param name="Name">The display name (List-Id's phrase, "Name via Team").</param>
    /// <param name="Policy">Who may post: open, subscribers, moderated, announce.</param>
    /// <param name="ReplyTo">Reply-To of the copies: none, list, poster.</param>
    /// <param name="FromRewrite">The DMARC From rewrite: never, always, dmarc.</param>
    /// <param name="MaxBytes">Largest post in bytes (0: Lists:MaxPostBytes).</param>
    /// <param name="Owner">Where NAME-owner@ goes (empty: the moderators).</param>
    /// <param name="Trailer">Text appended to plain text posts.</param>
    public sealed record ListSettingsBody(string? Name, string? Policy, string? Prefix, string? ReplyTo, string? FromRewrite, long? MaxBytes,
        string? Owner, string? Trailer, bool? ConfirmUnsubscribe);

    /// <param name="Local">The list's name: its address is LOCAL@DOMAIN.</param>
    public sealed record NewListBody(string? Local, ListSettingsBody? Settings);

    public sealed record MembersBody(IReadOnlyList<string>? Addresses);

    /// <param name="Changed">How many addresses were added (those there already are not counted).</param>
    public sealed record MembersChangedJson(int Changed);

    public sealed record ListJson(string Address, string Name, string Policy, string Prefix, string ReplyTo, string FromRewrite, long MaxBytes,
        string Owner, string Trailer, bool ConfirmUnsubscribe, int Subscribers, int Moderators, int Allow, int Deny, long LastNumber)
    {
        public static ListJson Of(ListView v) => new(v.Address, v.Config.Name, ListConfig.Keyword(v.Config.Policy), v.Config.Prefix,
            ListConfig.Keyword(v.Config.ReplyTo), ListConfig.Keyword(v.Config.FromRewrite), v.Config.MaxBytes, v.Config.Owner, v.Config.Trailer,
            v.Config.ConfirmUnsubscribe, v.Subscribers, v.Moderators, v.Allow, v.Deny, v.LastNumber);
    }
}
