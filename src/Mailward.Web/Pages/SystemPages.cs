// The system admin's pages: relay rules (tcprules: networks allowed or denied to relay) with the
// IP maps (vipmap: a server address standing for a domain in logins), and the queue (qmail-qread:
// list, search, retry all now, delete one without a bounce) through the running server's
// QueueManager. Every action is an AccountAdmin call, so the rules and the audit are the commands'.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Delivery;
using Mailward.Core.Policy;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Pages;

internal static class SystemPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/relay", RelayAsync);
        AdminWeb.Map(app, "POST", "/relay", (context, user) => PageKit.ActAsync(context, user!, "/relay", async admin =>
        {
            var r = await admin.SetRelayRuleAsync(user!.Actor, Layout.Field(context, "network"), Action(Layout.Field(context, "action")),
                Layout.Field(context, "comment").Trim() is { Length: > 0 } c ? c : null);
            return $"relay rule {r.Network}: {r.Action.ToString().ToLowerInvariant()}";
        }));
        AdminWeb.Map(app, "POST", "/relay/delete", (context, user) => PageKit.ActAsync(context, user!, "/relay", async admin =>
        {
            await admin.DeleteRelayRuleAsync(user!.Actor, Layout.Field(context, "network"));
            return $"relay rule {Layout.Field(context, "network")} removed";
        }));
        AdminWeb.Map(app, "POST", "/ipmaps", (context, user) => PageKit.ActAsync(context, user!, "/relay", async admin =>
        {
            var m = await admin.AddIpMapAsync(user!.Actor, Layout.Field(context, "address"), Layout.Field(context, "domain"));
            return $"{m.Address} stands for {m.Domain}";
        }));
        AdminWeb.Map(app, "POST", "/ipmaps/delete", (context, user) => PageKit.ActAsync(context, user!, "/relay", async admin =>
        {
            await admin.DeleteIpMapAsync(user!.Actor, Layout.Field(context, "address"), Layout.Field(context, "domain") is { Length: > 0 } d ? d : null);
            return $"IP map of {Layout.Field(context, "address")} removed";
        }));
        AdminWeb.Map(app, "GET", "/queue", QueueAsync);
        AdminWeb.Map(app, "POST", "/queue/flush", (context, user) => PageKit.ActAsync(context, user!, "/queue", async admin =>
            $"{await admin.FlushQueueAsync(user!.Actor, Queue(context))} deferred message(s) scheduled for delivery now"));
        AdminWeb.Map(app, "POST", "/queue/{id}/delete", (context, user) => PageKit.ActAsync(context, user!, "/queue", async admin =>
        {
            var id = PageKit.Route(context, "id");
            await admin.DeleteQueuedAsync(user!.Actor, Queue(context), id);
            return $"deleted {id}";
        }));
    }

    public static QueueManager Queue(HttpContext context) => context.RequestServices.GetRequiredService<QueueManager>();

    /// <summary>allow or deny, as `mailward relay add` takes them.</summary>
    public static RelayAction Action(string text) => text.Trim().ToLowerInvariant() switch
    {
        "allow" => RelayAction.Allow,
        "deny" => RelayAction.Deny,
        _ => throw new AccountException(AccountError.InvalidArgument, $"a relay rule allows or denies, not '{text}'"),
    };

    private static Task<IResult> RelayAsync(HttpContext context, WebUser? user) => PageKit.ShowAsync(context, user!, async admin =>
    {
        var rules = await admin.ListRelayRulesAsync(user!.Actor);
        var maps = await admin.ListIpMapAsync(user.Actor);
        var ruleRows = Html.Join(rules.Select(r => Html.Of($"""
            <tr><td>{r.Network}</td><td>{r.Action.ToString().ToLowerInvariant()}</td><td>{r.Comment}</td><td>{r.CreatedAt:yyyy-MM-dd}</td>
            <td><form method="post" action="/relay/delete" class="inline">{Layout.Csrf(user)}<input type="hidden" name="network" value="{r.Network}"><button type="submit" class="danger">Remove</button></form></td></tr>
            """)));
        var mapRows = Html.Join(maps.Select(m => Html.Of($"""
            <tr><td>{m.Address}</td><td>{m.Domain}</td>
            <td><form method="post" action="/ipmaps/delete" class="inline">{Layout.Csrf(user)}<input type="hidden" name="address" value="{m.Address}"><input type="hidden" name="domain" value="{m.Domain}"><button type="submit" class="danger">Remove</button></form></td></tr>
            """)));
        var body = Html.Of($"""
            <h2>Relay rules</h2>
            <p class="muted">Clients in these networks may (or may not) send mail to any domain without logging in; the most specific network decides.</p>
            <table><thead><tr><th>Network</th><th>Rule</th><th>Comment</th><th>Since</th><th></th></tr></thead><tbody>{ruleRows}</tbody></table>
            <form method="post" action="/relay" class="card">
            {Layout.Csrf(user)}
            <label for="network">Address or network (192.0.2.0/24)</label><input type="text" id="network" name="network" required>
            <label for="action">Rule</label><select id="action" name="action"><option value="allow">allow relaying</option><option value="deny">deny relaying</option></select>
            <label for="comment">Comment</label><input type="text" id="comment" name="comment">
            <p><button type="submit">Save relay rule</button></p>
            </form>
            <h2>IP maps</h2>
            <p class="muted">A server address that stands for a domain: a login without a domain on that address is taken as one of its users.</p>
            <table><thead><tr><th>Server address</th><th>Domain</th><th></th></tr></thead><tbody>{mapRows}</tbody></table>
            <form method="post" action="/ipmaps" class="card">
            {Layout.Csrf(user)}
            <label for="address">Server address</label><input type="text" id="address" name="address" required>
            <label for="domain">Domain</label><input type="text" id="domain" name="domain" required>
            <p><button type="submit">Add IP map</button></p>
            </form>
            """);
        return Layout.Page(context, user, "Relay rules and IP maps", body);
    });

    private static Task<IResult> QueueAsync(HttpContext context, WebUser? user) => PageKit.ShowAsync(context, user!, async admin =>
    {
        var page = PageKit.PageOf(context);
        var messages = await admin.ListQueueAsync(user!.Actor, Queue(context), page);
        // Senders and recipients come from strangers: escaped like every value, and cut to the printable (ClientText).
        var rows = Html.Join(messages.Items.Select(m => Html.Of($"""
            <tr><td>{m.ArrivedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}</td><td>{m.QueueId}</td><td>{ClientText.Printable(m.Sender, 320)}</td>
            <td>{Html.Join(m.Recipients.Select(r => Html.Of($"{ClientText.Printable(r.Address, 320)}: {r.State}{(r.NextAttempt is { } at ? $", next {at.UtcDateTime:HH:mm:ss}" : "")}{(r.LastError.Length > 0 ? " — " + ClientText.Printable(r.LastError, 300) : "")}<br>")))}</td>
            <td>{m.Bytes}</td><td>{ClientText.Printable(m.Origin, 200)}</td>
            <td><form method="post" action="/queue/{Uri.EscapeDataString(m.QueueId)}/delete" class="inline">{Layout.Csrf(user)}
            <label class="inline"><input type="checkbox" name="confirm" value="yes" required> sure</label><button type="submit" class="danger">Delete</button></form></td></tr>
            """)));
        var body = Html.Of($"""
            <form method="post" action="/queue/flush" class="inline">{Layout.Csrf(user)}<button type="submit">Retry all now</button></form>
            {PageKit.SearchForm("/queue", page.Search, "Search id, sender, recipient")}
            <table><thead><tr><th>Arrived (UTC)</th><th>Id</th><th>Sender</th><th>Recipients</th><th>Bytes</th><th>From</th><th></th></tr></thead><tbody>{rows}</tbody></table>
            {Html.When(messages.Items.Count == 0, Html.Of($"<p class=\"muted\">The queue is empty{(page.Search is null ? "" : " of matches")}.</p>"))}
            {PageKit.Pager("/queue", page, messages.Next)}
            """);
        return Layout.Page(context, user, "Queue", body);
    });
}
