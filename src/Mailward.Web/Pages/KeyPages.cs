// The system admin's API keys page (issue 13: keys "made by an admin ... stored hashed, shown
// once, with an expiry"): the keys as `mailward apikey list` shows them (name, scope, read-only,
// expiry, state; never a secret, which is not stored), a new key whose token is on the answer to
// its POST only, and revocation. The same AccountAdmin operations as /api/v1/keys and the command.
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Pages;

internal static class KeyPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/keys", (context, user) => PageKit.ShowAsync(context, user!, async admin =>
        {
            var now = Now(context);
            var rows = Html.Join((await admin.ListApiKeysAsync(user!.Actor)).Select(k => Html.Of($"""
                <tr><td>{k.Name}</td><td>{k.Scope}</td><td>{(k.ReadOnly ? "read-only" : "read-write")}</td><td>{k.CreatedBy}</td>
                <td>{k.CreatedAt:yyyy-MM-dd}</td><td>{k.ExpiresAt:yyyy-MM-dd HH:mm}</td><td>{k.State(now)}</td>
                <td>{Html.When(k.State(now) == "active", Html.Of($"""
                    <form method="post" action="/keys/{Uri.EscapeDataString(k.Name)}/revoke" class="inline">{Layout.Csrf(user!)}<button type="submit" class="danger" aria-label="Revoke {k.Name}">Revoke</button></form>
                    """))}</td></tr>
                """)));
            var options = admin.ApiKeys;
            var body = Html.Of($"""
                <p>A key is for the API only (<code>Authorization: Bearer</code>), never for IMAP, POP3 or SMTP. Its token is shown once, when it is made; only its hash is kept.</p>
                <table>
                <thead><tr><th>Name</th><th>Scope</th><th>Access</th><th>Made by</th><th>Made</th><th>Expires (UTC)</th><th>State</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
                </table>
                <form method="post" action="/keys" class="card">
                <h2>Make a key</h2>
                {Layout.Csrf(user!)}
                <label for="name">Name (letters, digits, '.', '-', '_')</label><input type="text" id="name" name="name" required maxlength="64">
                <label for="domains">Domains (separated by commas or spaces; empty: the whole system)</label><input type="text" id="domains" name="domains">
                <label class="inline"><input type="checkbox" id="read-only" name="read-only" value="yes"> Read-only</label>
                <label for="days">Days it lives (empty: {options.DefaultLifetime.TotalDays:0}; at most {options.MaxLifetime.TotalDays:0})</label><input type="number" id="days" name="days" min="1" max="{options.MaxLifetime.TotalDays:0}">
                <p><button type="submit">Make key</button></p>
                </form>
                """);
            return Layout.Page(context, user, "API keys", body);
        }));
        AdminWeb.Map(app, "POST", "/keys", CreateAsync);
        AdminWeb.Map(app, "POST", "/keys/{name}/revoke", (context, user) => PageKit.ActAsync(context, user!, "/keys", async admin =>
        {
            await admin.RevokeApiKeyAsync(user!.Actor, PageKit.Route(context, "name"));
            return $"key {PageKit.Route(context, "name")} revoked";
        }));
    }

    private static DateTimeOffset Now(HttpContext context) => (context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();

    /// <summary>
    /// The new key's token on this answer alone (200, not a redirect: a token kept for the next page
    /// would sit in the session); a refused or wrong request is the page's message, as other forms.
    /// </summary>
    private static async Task<IResult> CreateAsync(HttpContext context, WebUser? user)
    {
        var admin = PageKit.Admin(context);
        await context.Request.ReadFormAsync(context.RequestAborted);
        NewApiKey key;
        try
        {
            var domains = Layout.Field(context, "domains").Split([',', ' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var days = Layout.Field(context, "days").Trim();
            key = await admin.AddApiKeyAsync(user!.Actor, Layout.Field(context, "name").Trim(), domains.Length == 0 ? null : domains,
                Layout.Field(context, "read-only") == "yes",
                days.Length == 0 ? null
                : int.TryParse(days, NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? TimeSpan.FromDays(d)
                : throw new AccountException(AccountError.InvalidArgument, $"days: not a number: {days}"));
        }
        catch (AccountException e) when (e.Error is AccountError.Forbidden or AccountError.NotPermitted)
        {
            return Layout.ErrorPage(context, user, 403, "Forbidden", e.Message);
        }
        catch (AccountException e)
        {
            return Layout.Done(user!, "/keys", e.Message, error: true);
        }
        var k = key.Key;
        var body = Html.Of($"""
            <p class="flash" role="status">key {k.Name} made: copy its token now; it is not shown again.</p>
            <dl class="facts">
            <dt>Token</dt><dd><code id="key-token">{key.Token}</code></dd>
            <dt>Scope</dt><dd>{k.Scope}</dd>
            <dt>Access</dt><dd>{(k.ReadOnly ? "read-only" : "read-write")}</dd>
            <dt>Expires</dt><dd>{k.ExpiresAt:yyyy-MM-dd HH:mm} UTC</dd>
            </dl>
            <p><a href="/keys">Back to the keys</a></p>
            """);
        return Layout.Page(context, user, "New API key", body);
    }
}
