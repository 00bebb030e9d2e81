// A domain's aliases and forwards (vpopmail's valias): the list, searched and paged on the server,
// an add form (one target address for a local part; another line for an existing alias), and a
// delete per alias. Targets entered here are addresses only: AdminAuthorizer refuses |program and
// /path lines to every web actor, the system admin's too; they remain the command line's.
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Pages;

internal static class AliasPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/domains/{domain}/aliases", AliasesAsync);
        AdminWeb.Map(app, "POST", "/domains/{domain}/aliases", (context, user) => PageKit.ActAsync(context, user!, Back(context), async admin =>
        {
            var address = $"{Layout.Field(context, "local").Trim()}@{PageKit.Route(context, "domain")}";
            var line = await admin.AddAliasLineAsync(user!.Actor, address, Layout.Field(context, "target").Trim());
            return $"{address} now also goes to {line.TrimStart('&')}";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/aliases/{local}/delete", (context, user) => PageKit.ActAsync(context, user!, Back(context), async admin =>
        {
            var address = $"{PageKit.Route(context, "local")}@{PageKit.Route(context, "domain")}";
            await admin.DeleteAliasAsync(user!.Actor, address, null);
            return $"alias {address} removed";
        }));
    }

    private static string Back(HttpContext context) => $"/domains/{Uri.EscapeDataString(PageKit.Route(context, "domain"))}/aliases";

    private static Task<IResult> AliasesAsync(HttpContext context, WebUser? user) => PageKit.ShowAsync(context, user!, async admin =>
    {
        var d = await admin.GetDomainAsync(user!.Actor, PageKit.Route(context, "domain"));
        var page = PageKit.PageOf(context);
        var aliases = await admin.ListAliasesAsync(user.Actor, d.Name, page);
        var path = "/domains/" + Uri.EscapeDataString(d.Name);
        var rows = Html.Join(aliases.Items.Select(a => Html.Of($"""
            <tr><td>{a.Address}</td><td>{string.Join(", ", a.Lines.Select(l => l.StartsWith('&') ? l[1..] : l))}</td>
            <td><form method="post" action="{path}/aliases/{Uri.EscapeDataString(a.Local)}/delete" class="inline">{Layout.Csrf(user)}
            <label class="inline"><input type="checkbox" name="confirm" value="yes" required> sure</label><button type="submit" class="danger">Remove</button></form></td></tr>
            """)));
        var body = Html.Of($"""
            <p><a href="{path}">Users</a> · <a href="{path}/settings">Settings</a></p>
            {PageKit.SearchForm(path + "/aliases", page.Search, "Search aliases")}
            <table>
            <thead><tr><th>Address</th><th>Goes to</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
            </table>
            {Html.When(aliases.Items.Count == 0, Html.Of($"<p class=\"muted\">No aliases{(page.Search is null ? "" : " match")}.</p>"))}
            {PageKit.Pager(path + "/aliases", page, aliases.Next)}
            <form method="post" action="{path}/aliases" class="card">
            <h2>Add an alias or forward</h2>
            {Layout.Csrf(user)}
            <label for="local">Address (before @{d.Name})</label><input type="text" id="local" name="local" required>
            <label for="target">Goes to (an address; add again for more)</label><input type="text" id="target" name="target" required>
            <p><button type="submit">Add</button></p>
            </form>
            """);
        return Layout.Page(context, user, $"{d.Name}: aliases and forwards", body);
    });
}
