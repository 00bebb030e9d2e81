// The audit log page (docs/web-admin.md "The audit log"): every change asked of AccountAdmin by any
// face, newest first, in keyset pages (?after=ID); a system admin sees every row, a domain admin its
// domains' rows only (AccountAdmin filters), optionally one domain's (?domain=). Values are shown
// as stored: escaped text, never markup.
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Pages;

internal static class AuditPages
{
    public static void Map(WebApplication app) => AdminWeb.Map(app, "GET", "/audit", (context, user) => PageKit.ShowAsync(context, user!, async admin =>
    {
        var q = context.Request.Query;
        var domain = q["domain"].FirstOrDefault() is { Length: > 0 } d ? d.Trim() : null;
        var before = Cursor(q["after"].FirstOrDefault());
        var page = await admin.ListAuditAsync(user!.Actor, before, context.RequestServices.GetRequiredService<AdminWebOptions>().PageSize, domain);
        var rows = Html.Join(page.Items.Select(e => Html.Of($"""
            <tr class="audit-{e.Outcome}">
            <td>{e.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}</td><td>{e.Actor}<br><span class="muted">{e.ActorKind}, {e.Origin}</span></td>
            <td>{e.Operation}</td><td>{e.Target}</td><td>{e.Domain ?? "—"}</td><td>{e.Outcome}{Html.When(e.Detail is not null, Html.Of($"<br><span class=\"muted\">{e.Detail}</span>"))}</td>
            <td><pre>{e.Before ?? "—"}</pre></td><td><pre>{e.After ?? "—"}</pre></td>
            </tr>
            """)));
        var next = page.Next is null ? Html.Empty : Html.Of($"""
            <p class="pager"><a rel="next" href="/audit?{QueryString.Create([new KeyValuePair<string, string?>("domain", domain ?? ""), new KeyValuePair<string, string?>("after", page.Next)])}">Older entries</a></p>
            """);
        var body = Html.Of($"""
            <p class="muted">Every change asked for by a command, a page or the API: who, from where, when, what, and the values before and after.{(user.Actor.HasSystemScope ? "" : " Only your domains' entries are shown.")}</p>
            <form method="get" action="/audit" class="inline" role="search">
            <input type="search" name="domain" value="{domain ?? ""}" aria-label="Only this domain" placeholder="Only this domain">
            <button type="submit">Show</button>
            </form>
            <table>
            <thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Target</th><th>Domain</th><th>Outcome</th><th>Before</th><th>After</th></tr></thead>
            <tbody>{rows}</tbody>
            </table>
            {Html.When(page.Items.Count == 0, Html.Of($"<p class=\"muted\">No entries.</p>"))}
            {next}
            """);
        return Layout.Page(context, user, "Audit log", body);
    }));

    /// <summary>The cursor of ?after=: the id of the last row seen (rows older than it follow).</summary>
    public static long? Cursor(string? text) =>
        string.IsNullOrEmpty(text) ? null
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id
        : throw new AccountException(AccountError.InvalidArgument, $"after must be the next cursor a page gave, not '{text}'");
}
