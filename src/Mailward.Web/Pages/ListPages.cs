// A domain's mailing lists (issue 15 item 6; docs/lists.md): the lists with an add form, one list's
// settings form and delete, and each member set (subscribers, moderators, allow, deny, digest)
// searched and paged on the server with add and remove forms. Every change is an AccountAdmin call
// over ListAdmin, the operations `mailward list` uses (its rules, errors and audit rows).
using Mailward.Core.Accounts;
using Mailward.Core.Lists;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Pages;

internal static class ListPages
{
    private static readonly string[] Sets = ["subscribers", "moderators", "allow", "deny", "digest"];

    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/domains/{domain}/lists", ListsAsync);
        AdminWeb.Map(app, "POST", "/domains/{domain}/lists", (context, user) => PageKit.ActAsync(context, user!, DomainPath(context) + "/lists", async admin =>
        {
            var address = $"{Layout.Field(context, "local").Trim()}@{PageKit.Route(context, "domain")}";
            var v = await admin.AddListAsync(user!.Actor, address, new ListSettingsChange(Name: Layout.Field(context, "name").Trim(), Policy: Layout.Field(context, "policy")));
            return $"list {v.Address} made";
        }));
        AdminWeb.Map(app, "GET", "/domains/{domain}/lists/{list}", ListAsync);
        AdminWeb.Map(app, "POST", "/domains/{domain}/lists/{list}", (context, user) => PageKit.ActAsync(context, user!, ListPath(context), async admin =>
        {
            // The form shows every setting: each posted value is the new one (an unticked box is "no").
            var maxBytes = Layout.Field(context, "max-bytes").Trim();
            var change = new ListSettingsChange(Layout.Field(context, "name").Trim(), Layout.Field(context, "policy"), Layout.Field(context, "prefix").Trim(),
                Layout.Field(context, "reply-to"), Layout.Field(context, "from-rewrite"),
                maxBytes.Length == 0 ? 0 : long.TryParse(maxBytes, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n
                    : throw new AccountException(AccountError.InvalidArgument, $"max-bytes: a number of bytes (0 or empty: Lists:MaxPostBytes), not '{maxBytes}'"),
                Layout.Field(context, "owner").Trim(), Layout.Field(context, "trailer"), Layout.Field(context, "confirm-unsubscribe") == "yes" ? "yes" : "no");
            var v = await admin.SetListAsync(user!.Actor, Address(context), change);
            return $"settings of {v.Address} saved";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/lists/{list}/delete", (context, user) => PageKit.ActAsync(context, user!, DomainPath(context) + "/lists", async admin =>
        {
            if (Layout.Field(context, "confirm") != "yes")
                throw new AccountException(AccountError.InvalidArgument, "tick \"sure\" to remove the list");
            await admin.DeleteListAsync(user!.Actor, Address(context));
            return $"list {Address(context)} removed with its members and archive";
        }));
        AdminWeb.Map(app, "GET", "/domains/{domain}/lists/{list}/{set}", MembersAsync);
        AdminWeb.Map(app, "POST", "/domains/{domain}/lists/{list}/{set}", (context, user) => PageKit.ActAsync(context, user!, SetPath(context), async admin =>
        {
            var addresses = Layout.Field(context, "addresses").Split([' ', ',', '\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (addresses.Length == 0)
                throw new AccountException(AccountError.InvalidArgument, "give one address or more");
            var n = await admin.ChangeListMembersAsync(user!.Actor, Address(context), Api.ApiEndpoints.SetOf(PageKit.Route(context, "set")), addresses, add: true);
            return $"{n} added to the {PageKit.Route(context, "set")} of {Address(context)}";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/lists/{list}/{set}/delete", (context, user) => PageKit.ActAsync(context, user!, SetPath(context), async admin =>
        {
            var address = Layout.Field(context, "address").Trim();
            var n = await admin.ChangeListMembersAsync(user!.Actor, Address(context), Api.ApiEndpoints.SetOf(PageKit.Route(context, "set")), [address], add: false);
            return n > 0 ? $"{address} removed from the {PageKit.Route(context, "set")} of {Address(context)}" : $"{address} was not in the {PageKit.Route(context, "set")}";
        }));
    }

    private static string Address(HttpContext context) => $"{PageKit.Route(context, "list")}@{PageKit.Route(context, "domain")}";

    private static string DomainPath(HttpContext context) => "/domains/" + Uri.EscapeDataString(PageKit.Route(context, "domain"));

    private static string ListPath(HttpContext context) => DomainPath(context) + "/lists/" + Uri.EscapeDataString(PageKit.Route(context, "list"));

    private static string SetPath(HttpContext context) => ListPath(context) + "/" + Uri.EscapeDataString(PageKit.Route(context, "set"));

    private static string Selected(string value, string option) => value == option ? " selected" : "";

    private static Html Options(string value, params string[] options) =>
        Html.Join(options.Select(o => Html.Of($"<option value=\"{o}\"{Selected(value, o)}>{o}</option>")));

    private static Task<IResult> ListsAsync(HttpContext context, WebUser? user) => PageKit.ShowAsync(context, user!, async admin =>
    {
        var d = await admin.GetDomainAsync(user!.Actor, PageKit.Route(context, "domain"));
        var lists = await admin.ListListsAsync(user.Actor, d.Name);
        var path = "/domains/" + Uri.EscapeDataString(d.Name);
        var rows = Html.Join(lists.Select(v => Html.Of($"""
            <tr><td><a href="{path}/lists/{Uri.EscapeDataString(v.Address[..v.Address.LastIndexOf('@')])}">{v.Address}</a></td><td>{v.Config.Name}</td>
            <td>{ListConfig.Keyword(v.Config.Policy)}</td><td>{v.Subscribers}</td><td>{v.LastNumber}</td></tr>
            """)));
        var body = Html.Of($"""
            <p><a href="{path}">Users</a> · <a href="{path}/aliases">Aliases and forwards</a> · <a href="{path}/settings">Settings</a></p>
            <table>
            <thead><tr><th>List</th><th>Name</th><th>Who may post</th><th>Subscribers</th><th>Posts</th></tr></thead>
            <tbody>{rows}</tbody>
            </table>
            {Html.When(lists.Count == 0, Html.Of($"<p class=\"muted\">No mailing lists.</p>"))}
            <p class="muted">At most {PageKit.Limit(d.Limits.MaxLists)} lists (the domain's limit).</p>
            <form method="post" action="{path}/lists" class="card">
            <h2>Make a mailing list</h2>
            {Layout.Csrf(user)}
            <label for="local">Address (before @{d.Name})</label><input type="text" id="local" name="local" required>
            <label for="name">Display name</label><input type="text" id="name" name="name">
            <label for="policy">Who may post</label><select id="policy" name="policy">{Options("open", "open", "subscribers", "moderated", "announce")}</select>
            <p><button type="submit">Make list</button></p>
            </form>
            """);
        return Layout.Page(context, user, $"{d.Name}: mailing lists", body);
    });

    private static Task<IResult> ListAsync(HttpContext context, WebUser? user) => PageKit.ShowAsync(context, user!, async admin =>
    {
        var v = await admin.GetListAsync(user!.Actor, Address(context));
        var c = v.Config;
        var path = ListPath(context);
        var sets = Html.Join(Sets.Select(s => Html.Of($"<a href=\"{path}/{s}\">{s}</a> ")));
        var body = Html.Of($"""
            <p><a href="{DomainPath(context)}/lists">All lists</a> · members: {sets}</p>
            <p>{v.Subscribers} subscribers, {v.Moderators} moderators, {v.Allow} allowed, {v.Deny} denied; last post {v.LastNumber}.</p>
            <form method="post" action="{path}" class="card">
            <h2>Settings</h2>
            {Layout.Csrf(user)}
            <label for="name">Display name</label><input type="text" id="name" name="name" value="{c.Name}">
            <label for="policy">Who may post</label><select id="policy" name="policy">{Options(ListConfig.Keyword(c.Policy), "open", "subscribers", "moderated", "announce")}</select>
            <label for="prefix">Subject prefix</label><input type="text" id="prefix" name="prefix" value="{c.Prefix}">
            <label for="reply-to">Reply-To of the copies</label><select id="reply-to" name="reply-to">{Options(ListConfig.Keyword(c.ReplyTo), "none", "list", "poster")}</select>
            <label for="from-rewrite">DMARC From rewrite</label><select id="from-rewrite" name="from-rewrite">{Options(ListConfig.Keyword(c.FromRewrite), "never", "always", "dmarc")}</select>
            <label for="max-bytes">Largest post in bytes (0: the server's default)</label><input type="text" id="max-bytes" name="max-bytes" value="{c.MaxBytes}">
            <label for="owner">Owner address (empty: the moderators)</label><input type="text" id="owner" name="owner" value="{c.Owner}">
            <label for="trailer">Trailer (appended to plain text posts)</label><textarea id="trailer" name="trailer" rows="4">{c.Trailer}</textarea>
            <label class="inline"><input type="checkbox" name="confirm-unsubscribe" value="yes"{(c.ConfirmUnsubscribe ? " checked" : "")}> Unsubscribing by mail asks for a confirmation</label>
            <p><button type="submit">Save settings</button></p>
            </form>
            <form method="post" action="{path}/delete" class="card">
            <h2>Remove the list</h2>
            {Layout.Csrf(user)}
            <label class="inline"><input type="checkbox" name="confirm" value="yes" required> sure: its members and archive go too</label>
            <p><button type="submit" class="danger">Remove list</button></p>
            </form>
            """);
        return Layout.Page(context, user, $"List {v.Address}", body);
    });

    private static Task<IResult> MembersAsync(HttpContext context, WebUser? user) => PageKit.ShowAsync(context, user!, async admin =>
    {
        var setName = PageKit.Route(context, "set");
        var set = Api.ApiEndpoints.SetOf(setName);
        var address = Address(context);
        var page = PageKit.PageOf(context);
        var members = await admin.ListListMembersAsync(user!.Actor, address, set, page);
        var path = SetPath(context);
        var rows = Html.Join(members.Items.Select(m => Html.Of($"""
            <tr><td>{m}</td><td><form method="post" action="{path}/delete" class="inline">{Layout.Csrf(user)}
            <input type="hidden" name="address" value="{m}"><button type="submit" class="danger">Remove</button></form></td></tr>
            """)));
        var body = Html.Of($"""
            <p><a href="{ListPath(context)}">{address}</a> · {Html.Join(Sets.Select(s => Html.Of($"<a href=\"{ListPath(context)}/{s}\">{s}</a> ")))}</p>
            {PageKit.SearchForm(path, page.Search, "Search " + setName)}
            <table>
            <thead><tr><th>Address</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
            </table>
            {Html.When(members.Items.Count == 0, Html.Of($"<p class=\"muted\">Nobody{(page.Search is null ? "" : " matches")}.</p>"))}
            {PageKit.Pager(path, page, members.Next)}
            <form method="post" action="{path}" class="card">
            <h2>Add to the {setName}</h2>
            {Layout.Csrf(user)}
            <label for="addresses">Addresses (one a line; added at once, no confirmation)</label><textarea id="addresses" name="addresses" rows="4" required></textarea>
            <p><button type="submit">Add</button></p>
            </form>
            """);
        return Layout.Page(context, user, $"{address}: {setName}", body);
    });
}
