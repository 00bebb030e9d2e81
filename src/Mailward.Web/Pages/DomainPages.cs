// The admin pages: the domains an account administers (search, cursor pages; a system admin adds
// domains here), and one domain (counts, limits, users with search and cursor pages, add a user,
// delete one, set a quota). Every action is one AccountAdmin call with the session's actor, so the
// rules and the error messages are the command line's.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Pages;

internal static class DomainPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/domains", DomainsAsync);
        AdminWeb.Map(app, "POST", "/domains", (context, user) => PageKit.ActAsync(context, user!, "/domains", async admin =>
        {
            var name = Layout.Field(context, "name").Trim();
            var password = Layout.Field(context, "password");
            var r = await admin.AddDomainAsync(user!.Actor, name, password.Length > 0 ? new PasswordInput.Clear(password) : null);
            return r.GeneratedPassword is { } generated
                ? $"domain {r.Domain.Name} added; postmaster@{r.Domain.Name}'s password: {generated}"
                : $"domain {r.Domain.Name} added";
        }));
        AdminWeb.Map(app, "GET", "/domains/{domain}", DomainAsync);
        AdminWeb.Map(app, "POST", "/domains/{domain}/users", (context, user) => PageKit.ActAsync(context, user!, DomainPath(context), async admin =>
        {
            var address = $"{Layout.Field(context, "local").Trim()}@{Route(context, "domain")}";
            var quota = Layout.Field(context, "quota").Trim();
            var comment = Layout.Field(context, "comment").Trim();
            var r = await admin.AddUserAsync(user!.Actor, address, new PasswordInput.Clear(Layout.Field(context, "password")),
                comment.Length > 0 ? comment : null, quota.Length > 0 ? Quota.Parse(quota) : null);
            return $"user {r.User.Address} added";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/users/{local}/delete", (context, user) => PageKit.ActAsync(context, user!, DomainPath(context), async admin =>
        {
            var address = $"{Route(context, "local")}@{Route(context, "domain")}";
            if (Layout.Field(context, "confirm") != "yes")
                throw new AccountException(AccountError.InvalidArgument, $"tick the box to confirm that {address} and all its mail go");
            await admin.DeleteUserAsync(user!.Actor, address);
            return $"user {address} deleted";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/users/{local}/quota", (context, user) => PageKit.ActAsync(context, user!, DomainPath(context), async admin =>
        {
            var address = $"{Route(context, "local")}@{Route(context, "domain")}";
            var u = await admin.SetQuotaAsync(user!.Actor, address, Quota.Parse(Layout.Field(context, "quota")));
            return $"quota of {u.Address} set to {u.Quota}";
        }));
    }

    private static string Route(HttpContext context, string name) => PageKit.Route(context, name);

    private static string DomainPath(HttpContext context) => "/domains/" + Uri.EscapeDataString(Route(context, "domain"));

    private static async Task<IResult> DomainsAsync(HttpContext context, WebUser? user)
    {
        var admin = context.RequestServices.GetRequiredService<AccountAdmin>();
        var page = PageKit.PageOf(context);
        var domains = await admin.ListDomainsAsync(user!.Actor, page);
        var rows = Html.Join(domains.Items.Select(d => Html.Of($"""
            <tr><td><a href="/domains/{Uri.EscapeDataString(d.Name)}">{d.Name}</a></td><td>{d.CatchAll}</td><td>{PageKit.Limit(d.Limits.MaxUsers)}</td><td>{d.Limits.DomainQuota}</td><td>{d.CreatedAt:yyyy-MM-dd}</td></tr>
            """)));
        var add = Html.When(user.Role == WebRole.SystemAdmin, Html.Of($"""
            <form method="post" action="/domains" class="card">
            <h2>Add a domain</h2>
            {Layout.Csrf(user)}
            <label for="name">Domain</label><input type="text" id="name" name="name" required>
            <label for="password">Postmaster password (empty: a random one, shown once)</label><input type="password" id="password" name="password" autocomplete="new-password">
            <p><button type="submit">Add domain</button></p>
            </form>
            """));
        var body = Html.Of($"""
            {PageKit.SearchForm("/domains", page.Search, "Search domains")}
            <table>
            <thead><tr><th>Domain</th><th>Catch-all</th><th>Max users</th><th>Domain quota</th><th>Created</th></tr></thead>
            <tbody>{rows}</tbody>
            </table>
            {Html.When(domains.Items.Count == 0, Html.Of($"<p class=\"muted\">No domains{(page.Search is null ? "" : " match")}.</p>"))}
            {PageKit.Pager("/domains", page, domains.Next)}
            {add}
            """);
        return Layout.Page(context, user, "Domains", body);
    }

    private static async Task<IResult> DomainAsync(HttpContext context, WebUser? user)
    {
        var admin = context.RequestServices.GetRequiredService<AccountAdmin>();
        var name = Route(context, "domain");
        DomainInfo info;
        Page<UserView> users;
        var page = PageKit.PageOf(context);
        try
        {
            info = await admin.GetDomainInfoAsync(user!.Actor, name);
            users = await admin.ListUsersAsync(user.Actor, name, page);
        }
        catch (AccountException e)
        {
            var status = AccountErrorTable.For(e.Error).HttpStatus;
            return Layout.ErrorPage(context, user, status, status == 404 ? "Not found" : "Forbidden", e.Message);
        }
        var d = info.Domain;
        var path = "/domains/" + Uri.EscapeDataString(d.Name);
        var rows = Html.Join(users.Items.Select(u => Html.Of($"""
            <tr>
            <td><a href="{path}/users/{Uri.EscapeDataString(u.Local)}">{u.Address}</a></td><td>{u.Gecos}</td><td>{UserFlagNames.Format(u.Flags)}</td>
            <td>{(u.LastLogin is { } l ? $"{l.At:yyyy-MM-dd HH:mm} {l.Service} {l.Address}" : "never")}</td>
            <td><form method="post" action="{path}/users/{Uri.EscapeDataString(u.Local)}/quota" class="inline">{Layout.Csrf(user!)}
            <input type="text" name="quota" value="{u.Quota}" aria-label="quota of {u.Address}" size="12"><button type="submit">Set</button></form></td>
            <td><form method="post" action="{path}/users/{Uri.EscapeDataString(u.Local)}/delete" class="inline">{Layout.Csrf(user!)}
            <label class="inline"><input type="checkbox" name="confirm" value="yes" required> sure</label><button type="submit" class="danger">Delete</button></form></td>
            </tr>
            """)));
        var limits = d.Limits;
        var body = Html.Of($"""
            <p><a href="{path}/aliases">Aliases and forwards</a> · <a href="{path}/lists">Mailing lists</a> · <a href="{path}/settings">Settings: catch-all, alias domains, limits, usage</a> · <a href="/audit?domain={Uri.EscapeDataString(d.Name)}">Audit log</a></p>
            <dl class="facts">
            <dt>Users</dt><dd>{info.Users} (at most {PageKit.Limit(limits.MaxUsers)})</dd>
            <dt>Aliases</dt><dd>{info.Aliases} (at most {PageKit.Limit(limits.MaxAliases)})</dd>
            <dt>Forwards</dt><dd>{info.Forwards} (at most {PageKit.Limit(limits.MaxForwards)})</dd>
            <dt>Alias domains</dt><dd>{(info.AliasDomains.Count == 0 ? "none" : string.Join(", ", info.AliasDomains))}</dd>
            <dt>Catch-all</dt><dd>{d.CatchAll}</dd>
            <dt>Domain quota</dt><dd>{limits.DomainQuota}</dd>
            <dt>Default user quota</dt><dd>{limits.DefaultUserQuota}</dd>
            </dl>
            <h2>Users</h2>
            {PageKit.SearchForm(path, page.Search, "Search users")}
            <table>
            <thead><tr><th>Address</th><th>Name</th><th>Flags</th><th>Last login</th><th>Quota</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
            </table>
            {PageKit.Pager(path, page, users.Next)}
            <form method="post" action="{path}/users" class="card">
            <h2>Add a user</h2>
            {Layout.Csrf(user!)}
            <label for="local">User name (before @{d.Name})</label><input type="text" id="local" name="local" required>
            <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="new-password" required>
            <label for="quota">Quota (empty: the domain's default; NOQUOTA, 50M, or 52428800S,1000C)</label><input type="text" id="quota" name="quota">
            <label for="comment">Name or comment</label><input type="text" id="comment" name="comment">
            <p><button type="submit">Add user</button></p>
            </form>
            """);
        return Layout.Page(context, user, d.Name, body);
    }
}
