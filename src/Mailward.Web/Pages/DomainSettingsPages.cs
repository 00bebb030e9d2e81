// A domain's settings page: its catch-all (bounce, delete, a mailbox, a forward address), its alias
// domains (added by the system, dropped by its admins), its limits (shown to its admins, changed by
// the system only: AdminAuthorizer's SetDomainLimits), and its mail usage (a sum over its users, so
// computed here on its own page, never on the user list).
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Pages;

internal static class DomainSettingsPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/domains/{domain}/settings", SettingsAsync);
        AdminWeb.Map(app, "POST", "/domains/{domain}/catchall", (context, user) => PageKit.ActAsync(context, user!, Back(context), async admin =>
        {
            var d = await admin.SetCatchAllAsync(user!.Actor, PageKit.Route(context, "domain"), CatchAllOf(context));
            return $"catch-all of {d.Name}: {d.CatchAll}";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/limits", (context, user) => PageKit.ActAsync(context, user!, Back(context), async admin =>
        {
            var d = await admin.SetLimitsAsync(user!.Actor, PageKit.Route(context, "domain"), LimitsOf(context));
            return $"limits of {d.Name} saved";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/aliasdomains", (context, user) => PageKit.ActAsync(context, user!, Back(context), async admin =>
        {
            var alias = Layout.Field(context, "alias").Trim();
            await admin.AddDomainAliasAsync(user!.Actor, alias, PageKit.Route(context, "domain"));
            return $"{alias} is now another name of {PageKit.Route(context, "domain")}";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/aliasdomains/{alias}/delete", (context, user) => PageKit.ActAsync(context, user!, Back(context), async admin =>
        {
            var alias = PageKit.Route(context, "alias");
            // The alias must be one of this domain's names: the route's domain is what was authorized on the page.
            if (!(await admin.ListDomainAliasesAsync(user!.Actor, PageKit.Route(context, "domain"))).Any(a => a.Alias == Core.Addresses.DomainName.Normalize(alias)))
                throw new AccountException(AccountError.DomainNotFound, $"{alias} is not an alias domain of {PageKit.Route(context, "domain")}");
            await admin.DeleteDomainAliasAsync(user.Actor, alias);
            return $"alias domain {alias} removed";
        }));
    }

    private static string Back(HttpContext context) => $"/domains/{Uri.EscapeDataString(PageKit.Route(context, "domain"))}/settings";

    /// <summary>The catch-all form: a kind and, for a mailbox or a forward, its target.</summary>
    private static CatchAll CatchAllOf(HttpContext context)
    {
        var kind = Layout.Field(context, "kind");
        var target = Layout.Field(context, "target").Trim();
        return AccountAdmin.ParseCatchAll(kind switch
        {
            "mailbox" or "forward" => $"{kind}:{target}",
            "bounce" or "delete" => kind,
            _ => throw new AccountException(AccountError.InvalidArgument, $"catch-all must be bounce, delete, mailbox or forward, not '{kind}'"),
        });
    }

    private static DomainLimits LimitsOf(HttpContext context) => new()
    {
        MaxUsers = Count(context, "max-users"),
        MaxAliases = Count(context, "max-aliases"),
        MaxForwards = Count(context, "max-forwards"),
        MaxAutoresponders = Count(context, "max-autoresponders"),
        MaxLists = Count(context, "max-lists"),
        DomainQuota = Quota.Parse(Or(Layout.Field(context, "quota"), "NOQUOTA")),
        DefaultUserQuota = Quota.Parse(Or(Layout.Field(context, "default-quota"), "NOQUOTA")),
    };

    private static string Or(string text, string empty) => text.Trim().Length == 0 ? empty : text.Trim();

    private static int? Count(HttpContext context, string field)
    {
        var t = Layout.Field(context, field).Trim();
        return t.Length == 0 || t.Equals("unlimited", StringComparison.OrdinalIgnoreCase) ? null
            : int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
            : throw new AccountException(AccountError.InvalidArgument, $"{field}: a whole number or empty (unlimited), not '{t}'");
    }

    private static Task<IResult> SettingsAsync(HttpContext context, WebUser? user) => PageKit.ShowAsync(context, user!, async admin =>
    {
        var info = await admin.GetDomainInfoAsync(user!.Actor, PageKit.Route(context, "domain"));
        var usage = await admin.GetDomainUsageAsync(user.Actor, info.Domain.Name);
        var d = info.Domain;
        var l = d.Limits;
        var path = "/domains/" + Uri.EscapeDataString(d.Name);
        var system = user.Actor.HasSystemScope;
        var (kind, target) = (d.CatchAll.Kind.ToString().ToLowerInvariant(), d.CatchAll.Target ?? "");
        var aliases = Html.Join(info.AliasDomains.Select(a => Html.Of($"""
            <li>{a} <form method="post" action="{path}/aliasdomains/{Uri.EscapeDataString(a)}/delete" class="inline">{Layout.Csrf(user)}<button type="submit" class="danger">Remove</button></form></li>
            """)));
        var limitFields = Html.Join(new (string Field, string Label, string Value)[]
        {
            ("max-users", "Most users", PageKit.Limit(l.MaxUsers)), ("max-aliases", "Most aliases", PageKit.Limit(l.MaxAliases)),
            ("max-forwards", "Most forwards", PageKit.Limit(l.MaxForwards)), ("max-autoresponders", "Most autoresponders", PageKit.Limit(l.MaxAutoresponders)),
            ("max-lists", "Most lists", PageKit.Limit(l.MaxLists)), ("quota", "Domain quota", l.DomainQuota.ToString()),
            ("default-quota", "Default user quota", l.DefaultUserQuota.ToString()),
        }.Select(f => system
            ? Html.Of($"<label for=\"{f.Field}\">{f.Label}</label><input type=\"text\" id=\"{f.Field}\" name=\"{f.Field}\" value=\"{f.Value}\">")
            : Html.Of($"<dt>{f.Label}</dt><dd>{f.Value}</dd>")));
        var body = Html.Of($"""
            <p><a href="{path}">Users</a> · <a href="{path}/aliases">Aliases and forwards</a> · <a href="/audit?domain={Uri.EscapeDataString(d.Name)}">Audit log</a></p>
            <h2>Usage</h2>
            <dl class="facts">
            <dt>Mail</dt><dd id="usage">{usage.Used.Bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes, {usage.Used.Messages.ToString("N0", CultureInfo.InvariantCulture)} messages in {usage.Users} mailboxes</dd>
            <dt>Domain quota</dt><dd>{l.DomainQuota}</dd>
            </dl>
            <h2>Catch-all</h2>
            <form method="post" action="{path}/catchall" class="card">
            {Layout.Csrf(user)}
            <p>Mail to an address of {d.Name} that does not exist: now <strong>{d.CatchAll}</strong>.</p>
            <label for="kind">What happens</label>
            <select id="kind" name="kind">
            <option value="bounce"{Selected(kind, "bounce")}>bounce it</option>
            <option value="delete"{Selected(kind, "delete")}>delete it</option>
            <option value="mailbox"{Selected(kind, "mailbox")}>deliver to a user of {d.Name}</option>
            <option value="forward"{Selected(kind, "forward")}>forward to an address</option>
            </select>
            <label for="target">User or address (for the last two)</label><input type="text" id="target" name="target" value="{target}">
            <p><button type="submit">Save catch-all</button></p>
            </form>
            <h2>Alias domains</h2>
            {(info.AliasDomains.Count == 0 ? Html.Of($"<p class=\"muted\">None: mail to other names of {d.Name} is not taken.</p>") : Html.Of($"<ul>{aliases}</ul>"))}
            {Html.When(system, Html.Of($"""
                <form method="post" action="{path}/aliasdomains" class="card">
                {Layout.Csrf(user)}
                <label for="alias">Another name for {d.Name}</label><input type="text" id="alias" name="alias" required>
                <p><button type="submit">Add alias domain</button></p>
                </form>
                """))}
            <h2>Limits</h2>
            {(system ? Html.Of($"""
                <form method="post" action="{path}/limits" class="card">
                {Layout.Csrf(user)}
                <p class="muted">Empty: unlimited. Quotas: NOQUOTA, 50M, or 52428800S,1000C.</p>
                {limitFields}
                <p><button type="submit">Save limits</button></p>
                </form>
                """) : Html.Of($"""
                <p class="muted">The limits are set by the system's admins.</p>
                <dl class="facts">{limitFields}</dl>
                """))}
            """);
        return Layout.Page(context, user, $"{d.Name}: settings", body);
    });

    private static string Selected(string kind, string value) => kind == value ? " selected" : "";
}
