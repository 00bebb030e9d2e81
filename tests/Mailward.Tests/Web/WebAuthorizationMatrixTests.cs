// The authorization table of docs/web-admin.md as data, each cell one HTTP request against the
// real server: role × endpoint × target (the actor's own domain "own", another tenant's "other",
// the other tenant reached through its alias domain "otheralias", the account itself "self", or a
// user of its own domain "peer") → the status, and for every change, that it happened when allowed
// and left nothing changed when refused.
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Tests.Web;

public sealed class WebAuthorizationMatrixTests(WebServer web) : IClassFixture<WebServer>
{
    /// <summary>
    /// method, route, then "role[/target]=status" cells; roles: anon, user, da (postmaster of a.test),
    /// da2 (granted a.test and c.test), sa (system admin), key (an API key scoped to a.test), ro (a
    /// read-only key over the system). Targets: own (a.test), second (c.test), other (b.test), self,
    /// peer (a user of a.test). A key is sent only to /api/: the pages see no one (302). Every
    /// "other" cell of a scoped role (user, da, da2, key) gets an "otheralias" twin with the same
    /// status (Cells): b.test named by its alias domain is still b.test, refused the same way.
    /// </summary>
    public static readonly (string Method, string Route, string Cells)[] Table =
    [
        ("GET", "/domains", "anon=302 user=403 da=200 da2=200 sa=200 key=302 ro=302"),
        ("POST", "/domains", "anon=302 user=403 da=403 da2=403 sa=303 key=302 ro=302"),
        ("GET", "/domains/{d}", "anon/own=302 user/own=403 user/other=403 da/own=200 da/other=403 da2/own=200 da2/second=200 da2/other=403 sa/own=200 sa/other=200 key/own=302 ro/own=302"),
        ("POST", "/domains/{d}/users", "anon/own=302 user/own=403 user/other=403 da/own=303 da/other=403 da2/own=303 da2/second=303 da2/other=403 sa/own=303 sa/other=303 key/own=302 ro/own=302"),
        ("POST", "/domains/{d}/users/{u}/delete", "anon/own=302 user/own=403 user/other=403 da/own=303 da/other=403 da2/own=303 da2/second=303 da2/other=403 sa/own=303 sa/other=303 key/own=302 ro/own=302"),
        ("POST", "/domains/{d}/users/{u}/quota", "anon/own=302 user/own=403 user/other=403 da/own=303 da/other=403 da2/own=303 da2/second=303 da2/other=403 sa/own=303 sa/other=303 key/own=302 ro/own=302"),
        // The admin's page of a user and its forms (password, flags, forward, vacation).
        ("GET", "/domains/{d}/users/{u}", PageRead),
        ("POST", "/domains/{d}/users/{u}/password", PageChange),
        ("POST", "/domains/{d}/users/{u}/flags", PageChange),
        ("POST", "/domains/{d}/users/{u}/forward", PageChange),
        ("POST", "/domains/{d}/users/{u}/vacation", PageChange),
        ("POST", "/domains/{d}/users/{u}/vacation/delete", PageChange),
        ("GET", "/account", "anon=302 user=200 da=200 da2=200 sa=200 key=302 ro=302"),
        ("POST", "/account/password", "anon=302 user=303 da=303 da2=303 sa=303 key=302 ro=302"),
        ("GET", "/account/vacation", "anon=302 user=200 da=200 da2=200 sa=200 key=302 ro=302"),
        ("POST", "/account/vacation", "anon=302 user=303 da=303 da2=303 sa=303 key=302 ro=302"),
        ("POST", "/account/vacation/delete", "anon=302 user=303 da=303 da2=303 sa=303 key=302 ro=302"),
        // The own second factor (a code that is never right: no cell turns one on for the shared accounts).
        ("POST", "/account/totp", "anon=302 user=200 da=200 da2=200 sa=200 key=302 ro=302"),
        ("POST", "/account/totp/confirm", "anon=302 user=303 da=303 da2=303 sa=303 key=302 ro=302"),
        ("POST", "/account/totp/delete", "anon=302 user=303 da=303 da2=303 sa=303 key=302 ro=302"),
        ("POST", "/logout", "anon=302 user=303 da=303 da2=303 sa=303 key=302 ro=302"),
        ("GET", "/api/v1/openapi.json", "anon=200 user=200 da=200 da2=200 sa=200 key=200 ro=200"),
        ("GET", "/api/v1/me", "anon=401 user=200 da=200 da2=200 sa=200 key=200 ro=200"),
        ("PUT", "/api/v1/me/password", "anon=401 user=204 da=204 da2=204 sa=204 key=403 ro=403"),
        ("GET", "/api/v1/domains", "anon=401 user=403 da=200 da2=200 sa=200 key=200 ro=200"),
        ("POST", "/api/v1/domains", "anon=401 user=403 da=403 da2=403 sa=201 key=403 ro=403"),
        ("GET", "/api/v1/domains/{d}", "anon/own=401 user/own=403 user/other=403 da/own=200 da/other=403 da2/own=200 da2/second=200 da2/other=403 sa/own=200 sa/other=200 key/own=200 key/other=403 ro/own=200 ro/other=200"),
        ("GET", "/api/v1/domains/{d}/users", "anon/own=401 user/own=403 user/other=403 da/own=200 da/other=403 da2/own=200 da2/second=200 da2/other=403 sa/own=200 sa/other=200 key/own=200 key/other=403 ro/own=200 ro/other=200"),
        ("POST", "/api/v1/domains/{d}/users", "anon/own=401 user/own=403 user/other=403 da/own=201 da/other=403 da2/own=201 da2/second=201 da2/other=403 sa/own=201 sa/other=201 key/own=201 key/other=403 ro/own=403 ro/other=403"),
        ("GET", "/api/v1/users/{a}", "anon/self=401 user/self=200 user/peer=403 user/other=403 da/self=200 da/peer=200 da/other=403 da2/self=200 da2/peer=200 da2/second=200 da2/other=403 sa/self=200 sa/peer=200 sa/other=200 key/peer=200 key/other=403 ro/peer=200 ro/other=200"),
        ("DELETE", "/api/v1/users/{a}", "anon/peer=401 user/peer=403 user/other=403 da/peer=204 da/other=403 da2/peer=204 da2/second=204 da2/other=403 sa/peer=204 sa/other=204 key/peer=204 key/other=403 ro/peer=403 ro/other=403"),
        ("PUT", "/api/v1/users/{a}/quota", "anon/peer=401 user/peer=403 user/other=403 da/peer=200 da/other=403 da2/peer=200 da2/second=200 da2/other=403 sa/peer=200 sa/other=200 key/peer=200 key/other=403 ro/peer=403 ro/other=403"),
        // A key makes no keys, whatever its scope; a domain admin neither.
        ("GET", "/api/v1/keys", "anon=401 user=403 da=403 da2=403 sa=200 key=403 ro=200"),
        ("POST", "/api/v1/keys", "anon=401 user=403 da=403 da2=403 sa=201 key=403 ro=403"),
        ("DELETE", "/api/v1/keys/{k}", "anon=401 user=403 da=403 da2=403 sa=204 key=403 ro=403"),
        // Grants of domains (mailward admin): the system's; no admin grants a domain, its own or another ({g}: a fresh user of a.test).
        ("GET", "/api/v1/admins", SystemApiRead),
        ("POST", "/api/v1/admins", ApiSystem(201)),
        ("DELETE", "/api/v1/admins/{g}/{d}", ApiSystem(204)),
        // A domain's aliases and settings pages; limits and new alias domains are the system's.
        ("GET", "/domains/{d}/aliases", PageRead),
        ("POST", "/domains/{d}/aliases", PageChange),
        ("POST", "/domains/{d}/aliases/{u}/delete", PageChange),
        ("GET", "/domains/{d}/settings", PageRead),
        ("POST", "/domains/{d}/catchall", PageChange),
        ("POST", "/domains/{d}/limits", PageSystem),
        ("POST", "/domains/{d}/aliasdomains", PageSystem),
        ("POST", "/domains/{d}/aliasdomains/{x}/delete", PageChange),
        ("GET", "/account/mobileconfig", "anon=302 user=200 da=200 da2=200 sa=200 key=302 ro=302"),
        ("GET", "/account/forward", "anon=302 user=200 da=200 da2=200 sa=200 key=302 ro=302"),
        ("POST", "/account/forward", "anon=302 user=303 da=303 da2=303 sa=303 key=302 ro=302"),
        // The API's domain and user endpoints beyond the first ones (vpopmaild's set).
        ("DELETE", "/api/v1/domains/{d}", "anon=401 user=403 da=403 da2=403 sa=204 key=403 ro=403"),
        ("PUT", "/api/v1/domains/{d}/catchall", ApiDomainChange(200)),
        ("PUT", "/api/v1/domains/{d}/limits", ApiSystem(200)),
        ("GET", "/api/v1/domains/{d}/usage", ApiDomainRead),
        ("GET", "/api/v1/domains/{d}/aliasdomains", ApiDomainRead),
        ("POST", "/api/v1/domains/{d}/aliasdomains", ApiSystem(201)),
        ("DELETE", "/api/v1/domains/{d}/aliasdomains/{x}", ApiDomainChange(204)),
        ("GET", "/api/v1/domains/{d}/aliases", ApiDomainRead),
        ("POST", "/api/v1/domains/{d}/aliases", ApiDomainChange(201)),
        ("DELETE", "/api/v1/domains/{d}/aliases/{u}", ApiDomainChange(204)),
        ("PATCH", "/api/v1/users/{a}", ApiUserAdmin(200)),
        ("PUT", "/api/v1/users/{a}/password", ApiUserAdmin(204)),
        ("GET", "/api/v1/users/{a}/forward", ApiUserOwn(200, readOnly: 200)),
        ("PUT", "/api/v1/users/{a}/forward", ApiUserOwn(200)),
        ("GET", "/api/v1/users/{a}/usage", ApiUserOwn(200, readOnly: 200)),
        ("GET", "/api/v1/users/{a}/vacation", ApiUserOwn(200, readOnly: 200)),
        ("PUT", "/api/v1/users/{a}/vacation", ApiUserOwn(200)),
        ("DELETE", "/api/v1/users/{a}/vacation", ApiUserOwn(204)),
        // A domain's mailing lists (issue 15): its admins' and the system's, as its aliases; {list} is a list of the cell's own.
        ("GET", "/domains/{d}/lists", PageRead),
        ("POST", "/domains/{d}/lists", PageChange),
        ("GET", "/domains/{d}/lists/{list}", PageRead),
        ("POST", "/domains/{d}/lists/{list}", PageChange),
        ("POST", "/domains/{d}/lists/{list}/delete", PageChange),
        ("GET", "/domains/{d}/lists/{list}/{set}", PageRead),
        ("POST", "/domains/{d}/lists/{list}/{set}", PageChange),
        ("POST", "/domains/{d}/lists/{list}/{set}/delete", PageChange),
        ("GET", "/api/v1/domains/{d}/lists", ApiDomainRead),
        ("POST", "/api/v1/domains/{d}/lists", ApiDomainChange(201)),
        ("GET", "/api/v1/domains/{d}/lists/{list}", ApiDomainRead),
        ("PATCH", "/api/v1/domains/{d}/lists/{list}", ApiDomainChange(200)),
        ("DELETE", "/api/v1/domains/{d}/lists/{list}", ApiDomainChange(204)),
        ("GET", "/api/v1/domains/{d}/lists/{list}/{set}", ApiDomainRead),
        ("POST", "/api/v1/domains/{d}/lists/{list}/{set}", ApiDomainChange(200)),
        ("DELETE", "/api/v1/domains/{d}/lists/{list}/{set}/{member}", ApiDomainChange(204)),
        // The system's pages and endpoints: relay rules, IP maps, the queue (the fixture delivers nothing: sent mail stays queued).
        ("GET", "/relay", SystemRead),
        ("POST", "/relay", SystemPageChange),
        ("POST", "/relay/delete", SystemPageChange),
        ("POST", "/ipmaps", SystemPageChange),
        ("POST", "/ipmaps/delete", SystemPageChange),
        ("GET", "/keys", SystemRead),
        ("POST", "/keys", "anon=302 user=403 da=403 da2=403 sa=200 key=302 ro=302"),
        ("POST", "/keys/{k}/revoke", SystemPageChange),
        ("GET", "/queue", SystemRead),
        ("POST", "/queue/flush", SystemPageChange),
        ("POST", "/queue/{q}/delete", SystemPageChange),
        ("GET", "/api/v1/relayrules", SystemApiRead),
        ("POST", "/api/v1/relayrules", SystemApiChange(201)),
        ("DELETE", "/api/v1/relayrules", SystemApiChange(204)),
        ("GET", "/api/v1/ipmaps", SystemApiRead),
        ("POST", "/api/v1/ipmaps", SystemApiChange(201)),
        ("DELETE", "/api/v1/ipmaps/{ip}", SystemApiChange(204)),
        ("GET", "/api/v1/queue", SystemApiRead),
        ("POST", "/api/v1/queue/flush", SystemApiChange(200)),
        ("DELETE", "/api/v1/queue/{q}", SystemApiChange(204)),
        // The audit log: rows of the own domains (WebAuditTests checks which rows); ?domain= of another tenant is refused.
        ("GET", "/audit", "anon/own=302 user/own=403 da/own=200 da/other=403 da2/own=200 da2/second=200 da2/other=403 sa/own=200 sa/other=200 key/own=302 ro/own=302"),
        ("GET", "/api/v1/audit", "anon/own=401 user/own=403 da/own=200 da/other=403 da2/own=200 da2/second=200 da2/other=403 sa/own=200 sa/other=200 key/own=200 key/other=403 ro/own=200 ro/other=200"),
        // A list's one-click unsubscribe: the link's token is the credential; a session, a key or their absence changes nothing (docs/lists.md).
        ("GET", "/lists/unsubscribe", "anon=200 user=200 da=200 da2=200 sa=200 key=200 ro=200"),
        ("POST", "/lists/unsubscribe", "anon=200 user=200 da=200 da2=200 sa=200 key=200 ro=200"),
        // The scraper's endpoints ask no session: from 127.0.0.1 (Metrics:AllowFrom's default) everyone reads them (docs/metrics.md).
        ("GET", "/metrics", "anon=200 user=200 da=200 da2=200 sa=200 key=200 ro=200"),
        ("GET", "/healthz", "anon=200 user=200 da=200 da2=200 sa=200 key=200 ro=200"),
    ];

    // The rows' common shapes: a page of a domain (read, change, the system's change), an API call on a
    // domain (read, change, the system's), on a user by its admins, and on a user by itself or its admins.
    private const string PageRead = "anon/own=302 user/own=403 user/other=403 da/own=200 da/other=403 da2/own=200 da2/second=200 da2/other=403 sa/own=200 sa/other=200 key/own=302 ro/own=302";
    private const string PageChange = "anon/own=302 user/own=403 user/other=403 da/own=303 da/other=403 da2/own=303 da2/second=303 da2/other=403 sa/own=303 sa/other=303 key/own=302 ro/own=302";
    private const string PageSystem = "anon/own=302 user/own=403 da/own=403 da/other=403 da2/own=403 da2/second=403 da2/other=403 sa/own=303 sa/other=303 key/own=302 ro/own=302";
    private const string ApiDomainRead = "anon/own=401 user/own=403 user/other=403 da/own=200 da/other=403 da2/own=200 da2/second=200 da2/other=403 sa/own=200 sa/other=200 key/own=200 key/other=403 ro/own=200 ro/other=200";

    private const string SystemRead = "anon=302 user=403 da=403 da2=403 sa=200 key=302 ro=302";
    private const string SystemPageChange = "anon=302 user=403 da=403 da2=403 sa=303 key=302 ro=302";
    private const string SystemApiRead = "anon=401 user=403 da=403 da2=403 sa=200 key=403 ro=200";

    private static string SystemApiChange(int s) => $"anon=401 user=403 da=403 da2=403 sa={s} key=403 ro=403";

    private static string ApiDomainChange(int s) =>
        $"anon/own=401 user/own=403 user/other=403 da/own={s} da/other=403 da2/own={s} da2/second={s} da2/other=403 sa/own={s} sa/other={s} key/own={s} key/other=403 ro/own=403 ro/other=403";

    private static string ApiSystem(int s) =>
        $"anon/own=401 user/own=403 da/own=403 da/other=403 da2/own=403 da2/second=403 da2/other=403 sa/own={s} sa/other={s} key/own=403 ro/own=403";

    private static string ApiUserAdmin(int s) =>
        $"anon/peer=401 user/peer=403 user/other=403 da/peer={s} da/other=403 da2/peer={s} da2/second={s} da2/other=403 sa/peer={s} sa/other={s} key/peer={s} key/other=403 ro/peer=403 ro/other=403";

    private static string ApiUserOwn(int s, int readOnly = 403) =>
        $"anon/self=401 user/self={s} user/peer=403 user/other=403 da/self={s} da/peer={s} da/other=403 da2/self={s} da2/peer={s} da2/second={s} da2/other=403 sa/self={s} sa/peer={s} sa/other={s} key/peer={s} key/other=403 ro/peer={readOnly} ro/other={readOnly}";

    /// <summary>An alias domain of b.test (the other tenant), made at the first cell that names it.</summary>
    private const string OtherAlias = "bx.test";

    private static readonly string[] ScopedRoles = ["user", "da", "da2", "key"];

    public static TheoryData<string, string, string, string, int> Cells()
    {
        var data = new TheoryData<string, string, string, string, int>();
        foreach (var (method, route, cells) in Table)
            foreach (var cell in cells.Split(' ').Concat(cells.Split(' ')
                .Where(c => ScopedRoles.Any(r => c.StartsWith(r + "/other=", StringComparison.Ordinal)))
                .Select(c => c.Replace("/other=", "/otheralias=", StringComparison.Ordinal))))
            {
                var (key, status) = (cell[..cell.IndexOf('=')], int.Parse(cell[(cell.IndexOf('=') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
                var role = key.Split('/')[0];
                var target = key.Contains('/') ? key.Split('/')[1] : "-";
                data.Add(method, route, role, target, status);
            }
        return data;
    }

    private static readonly Dictionary<string, string> Logins = new()
    {
        ["user"] = WebServer.User,
        ["da"] = WebServer.Postmaster,
        ["sa"] = WebServer.SystemAdmin,
        ["da2"] = WebServer.MultiAdmin,
    };

    private static readonly string[] Roles = ["anon", "user", "da", "da2", "sa", "key", "ro"];

    private static int _serial;

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task Cell(string method, string route, string role, string target, int expected)
    {
        using var client = role switch
        {
            "key" => web.KeyClient(web.KeyA),
            "ro" => web.KeyClient(web.ReadOnlyKey),
            _ => web.Client(),
        };
        var self = Logins.GetValueOrDefault(role, WebServer.User);
        if (Logins.ContainsKey(role))
            await client.LoginOkAsync(self, WebServer.Password);

        // The target: a fresh user (or key) where the request changes one, so the cells do not depend on each other.
        var n = Interlocked.Increment(ref _serial);
        var domain = target switch { "other" or "otheralias" => "b.test", "second" => "c.test", _ => "a.test" };
        // The name the request uses: the domain's own, or for "otheralias" b.test's alias domain (the setup and the checks use the real name).
        var named = domain;
        if (target == "otheralias")
        {
            named = OtherAlias;
            if (web.Store.FindDomain(OtherAlias) is null)
                await web.Admin.AddDomainAliasAsync(Actor.System, OtherAlias, "b.test");
        }
        var local = $"t{n}";
        if (method == "DELETE" && route == "/api/v1/domains/{d}")
        {
            domain = named = $"del{n}.test"; // a domain of its own: nobody's but the system's
            await web.Admin.AddDomainAsync(Actor.System, domain, new PasswordInput.Clear("x-secret-1"));
        }
        if (route.Contains("/aliases/{u}", StringComparison.Ordinal))
            await web.Admin.AddAliasLineAsync(Actor.System, $"{local}@{domain}", "someone@remote.test");
        else if (route.Contains("{u}", StringComparison.Ordinal) || (route.Contains("{a}", StringComparison.Ordinal) && target is "peer" or "other" or "second" or "otheralias"))
            await web.Admin.AddUserAsync(Actor.System, $"{local}@{domain}", new PasswordInput.Clear("x-secret-1"), quota: Quota.Parse("10M"));
        if (route == "/domains/{d}/users/{u}/vacation/delete")
            await web.Admin.SetAutoresponderAsync(Actor.System, $"{local}@{domain}", new AutoresponderChange { Text = "Away." });
        if (route.Contains("{x}", StringComparison.Ordinal))
            await web.Admin.AddDomainAliasAsync(Actor.System, $"al{local}.test", domain);
        if (route.Contains("{list}", StringComparison.Ordinal))
        {
            Lists().Add($"l{local}@{domain}", new Mailward.Core.Lists.ListConfig());
            Lists().Change($"l{local}@{domain}", Mailward.Core.Lists.MemberSet.Subscribers, [$"s{local}@remote.test"], add: true);
        }
        // A network and a server address of the cell's own, and for the removals, one there to remove.
        var network = $"10.{n / 250}.{n % 250}.0/24";
        var ip = $"10.{n / 250}.{n % 250}.1";
        if (route is "/relay/delete" || (method == "DELETE" && route == "/api/v1/relayrules"))
            await web.Admin.SetRelayRuleAsync(Actor.System, network, RelayAction.Allow, null);
        if (route is "/ipmaps/delete" or "/api/v1/ipmaps/{ip}")
            await web.Admin.AddIpMapAsync(Actor.System, ip, "a.test");
        var queueId = "";
        if (route.Contains("{q}", StringComparison.Ordinal))
        {
            var before = web.Server.Queue.Messages.Select(m => m.QueueId).ToHashSet();
            await Delivery.DeliveryTestMail.SendAsync(web.Server, WebServer.OtherUser, "queued " + local);
            queueId = web.Server.Queue.Messages.Single(m => !before.Contains(m.QueueId)).QueueId;
        }
        if (route.StartsWith("/api/v1/admins", StringComparison.Ordinal) && method != "GET")
        {
            await web.Admin.AddUserAsync(Actor.System, $"{local}@a.test", new PasswordInput.Clear("x-secret-1"));
            if (method == "DELETE")
                await web.Admin.GrantAdminAsync(Actor.System, $"{local}@a.test", domain);
        }
        var hashBefore = web.Store.FindUser(local, domain)?.PasswordHash;
        if (route.Contains("{k}", StringComparison.Ordinal))
            await web.Admin.AddApiKeyAsync(Actor.System, "k" + local, ["a.test"], readOnly: false);
        var address = target == "self" ? self : $"{local}@{named}";
        var newDomain = $"new{n}.test";
        var path = route.Replace("{d}", named, StringComparison.Ordinal).Replace("{u}", local, StringComparison.Ordinal).Replace("{a}", address, StringComparison.Ordinal)
            .Replace("{k}", "k" + local, StringComparison.Ordinal).Replace("{x}", $"al{local}.test", StringComparison.Ordinal)
            .Replace("{q}", queueId, StringComparison.Ordinal).Replace("{ip}", ip, StringComparison.Ordinal).Replace("{g}", $"{local}@a.test", StringComparison.Ordinal)
            .Replace("{list}", "l" + local, StringComparison.Ordinal).Replace("{set}", "subscribers", StringComparison.Ordinal).Replace("{member}", $"s{local}@remote.test", StringComparison.Ordinal);
        if (method == "DELETE" && route == "/api/v1/relayrules")
            path += "?network=" + Uri.EscapeDataString(network);
        if (route.EndsWith("/audit", StringComparison.Ordinal))
            path += "?domain=" + named; // the audit log's target is the domain asked for
        if (route == "/lists/unsubscribe")
            path += OneClickQuery(local);

        using var response = await SendAsync(client, method, path, route, local, newDomain, network, ip, named);
        Assert.True((int)response.StatusCode == expected,
            $"{role} {method} {path}: expected {expected}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        if (expected == 302)
            Assert.Equal("/login", response.Headers.Location?.OriginalString);

        // What the request changes: done when allowed, untouched when refused.
        var allowed = expected is >= 200 and < 300 || (expected == 303 && method == "POST");
        var changed = target == "self" ? null : Changed(method, route, domain, local, newDomain, hashBefore)
            ?? SystemChanged(method, route, network, ip, queueId);
        if (changed is { } c)
            Assert.True(c == allowed, $"{role} {method} {path}: {(allowed ? "no change was made" : "a refused request changed the store")}");
    }

    private static Task<HttpResponseMessage> SendAsync(WebClient client, string method, string path, string route, string local, string newDomain, string network, string ip, string named)
    {
        var password = new Dictionary<string, string> { ["old"] = WebServer.Password, ["new"] = WebServer.Password, ["again"] = WebServer.Password };
        return (method, route) switch
        {
            ("GET", _) => client.GetAsync(path),
            ("POST", "/domains") => client.PostFormAsync(path, new Dictionary<string, string> { ["name"] = newDomain, ["password"] = "pm-secret-1" }),
            ("POST", "/domains/{d}/users") => client.PostFormAsync(path, new Dictionary<string, string> { ["local"] = "n" + local, ["password"] = "n-secret-1" }),
            ("POST", "/domains/{d}/users/{u}/delete") => client.PostFormAsync(path, new Dictionary<string, string> { ["confirm"] = "yes" }),
            ("POST", "/domains/{d}/users/{u}/quota") => client.PostFormAsync(path, new Dictionary<string, string> { ["quota"] = "20M" }),
            ("POST", "/domains/{d}/users/{u}/password") => client.PostFormAsync(path, new Dictionary<string, string> { ["password"] = "n-secret-2" }),
            ("POST", "/domains/{d}/users/{u}/flags") => client.PostFormAsync(path, new Dictionary<string, string> { ["no-imap"] = "yes" }),
            ("POST", "/domains/{d}/users/{u}/forward") => client.PostFormAsync(path, new Dictionary<string, string> { ["targets"] = "fwd@remote.test", ["keep"] = "yes" }),
            ("POST", "/domains/{d}/users/{u}/vacation") => client.PostFormAsync(path, new Dictionary<string, string> { ["text"] = "Away.", ["subject"] = "Away", ["interval"] = "3" }),
            ("POST", "/domains/{d}/users/{u}/vacation/delete") => client.PostFormAsync(path),
            ("POST", "/account/password") => client.PostFormAsync(path, password),
            ("POST", "/logout") => client.PostFormAsync(path),
            ("POST", "/account/totp") => client.PostFormAsync(path),
            ("POST", "/account/vacation") => client.PostFormAsync(path, new Dictionary<string, string> { ["text"] = "Away until Monday.", ["subject"] = "Away" }),
            ("POST", "/account/vacation/delete") => client.PostFormAsync(path),
            ("POST", "/account/totp/confirm" or "/account/totp/delete") => client.PostFormAsync(path, new Dictionary<string, string> { ["code"] = "abcdef" }),
            ("PUT", "/api/v1/me/password") => client.SendJsonAsync(HttpMethod.Put, path, new { oldPassword = WebServer.Password, newPassword = WebServer.Password }),
            ("POST", "/api/v1/domains") => client.SendJsonAsync(HttpMethod.Post, path, new { name = newDomain, postmasterPassword = "pm-secret-1" }),
            ("POST", "/api/v1/domains/{d}/users") => client.SendJsonAsync(HttpMethod.Post, path, new { local = "n" + local, password = "n-secret-1" }),
            ("DELETE", _) => client.SendJsonAsync(HttpMethod.Delete, path),
            ("PUT", "/api/v1/users/{a}/quota") => client.SendJsonAsync(HttpMethod.Put, path, new { quota = "20M" }),
            ("POST", "/api/v1/admins") => client.SendJsonAsync(HttpMethod.Post, path, new { address = $"{local}@a.test", domain = named }),
            ("POST", "/api/v1/keys") => client.SendJsonAsync(HttpMethod.Post, path, new { name = "n" + local, domains = new[] { "a.test" }, readOnly = true }),
            ("POST", "/relay") => client.PostFormAsync(path, new Dictionary<string, string> { ["network"] = network, ["action"] = "allow", ["comment"] = "cell" }),
            ("POST", "/relay/delete") => client.PostFormAsync(path, new Dictionary<string, string> { ["network"] = network }),
            ("POST", "/ipmaps" or "/ipmaps/delete") => client.PostFormAsync(path, new Dictionary<string, string> { ["address"] = ip, ["domain"] = "a.test" }),
            // Each form's own fields only: a field the form does not have is refused (400) before any rule.
            ("POST", "/queue/flush") => client.PostFormAsync(path),
            ("POST", "/keys") => client.PostFormAsync(path, new Dictionary<string, string> { ["name"] = "n" + local, ["domains"] = "a.test", ["read-only"] = "yes" }),
            ("POST", "/keys/{k}/revoke") => client.PostFormAsync(path),
            ("POST", "/queue/{q}/delete") => client.PostFormAsync(path, new Dictionary<string, string> { ["confirm"] = "yes" }),
            ("POST", "/api/v1/relayrules") => client.SendJsonAsync(HttpMethod.Post, path, new { network, action = "deny", comment = "cell" }),
            ("POST", "/api/v1/ipmaps") => client.SendJsonAsync(HttpMethod.Post, path, new { address = ip, domain = "a.test" }),
            ("POST", "/api/v1/queue/flush") => client.SendJsonAsync(HttpMethod.Post, path),
            ("POST", "/domains/{d}/aliases") => client.PostFormAsync(path, new Dictionary<string, string> { ["local"] = "n" + local, ["target"] = "fwd@remote.test" }),
            ("POST", "/domains/{d}/aliases/{u}/delete") => client.PostFormAsync(path, new Dictionary<string, string> { ["confirm"] = "yes" }),
            ("POST", "/domains/{d}/aliasdomains/{x}/delete") => client.PostFormAsync(path),
            ("POST", "/domains/{d}/catchall") => client.PostFormAsync(path, new Dictionary<string, string> { ["kind"] = "forward", ["target"] = $"c{local}@remote.test" }),
            ("POST", "/domains/{d}/limits") => client.PostFormAsync(path, new Dictionary<string, string> { ["max-lists"] = Lists(local), ["quota"] = "100M" }),
            ("POST", "/domains/{d}/aliasdomains") => client.PostFormAsync(path, new Dictionary<string, string> { ["alias"] = $"al{local}.test" }),
            ("POST", "/lists/unsubscribe") => client.PostFormAsync(path, new Dictionary<string, string> { ["List-Unsubscribe"] = "One-Click" }, withToken: false),
            ("POST", "/account/forward") => client.PostFormAsync(path, new Dictionary<string, string> { ["targets"] = "fwd@remote.test", ["keep"] = "yes" }),
            ("PUT", "/api/v1/domains/{d}/catchall") => client.SendJsonAsync(HttpMethod.Put, path, new { catchAll = $"forward:c{local}@remote.test" }),
            ("PUT", "/api/v1/domains/{d}/limits") => client.SendJsonAsync(HttpMethod.Put, path, new { maxLists = int.Parse(Lists(local), System.Globalization.CultureInfo.InvariantCulture), domainQuota = "100M" }),
            ("POST", "/api/v1/domains/{d}/aliasdomains") => client.SendJsonAsync(HttpMethod.Post, path, new { alias = $"al{local}.test" }),
            ("POST", "/api/v1/domains/{d}/aliases") => client.SendJsonAsync(HttpMethod.Post, path, new { local = "n" + local, target = "fwd@remote.test" }),
            ("PATCH", "/api/v1/users/{a}") => client.SendJsonAsync(HttpMethod.Patch, path, new { name = "Renamed " + local }),
            ("PUT", "/api/v1/users/{a}/password") => client.SendJsonAsync(HttpMethod.Put, path, new { password = WebServer.Password }),
            ("PUT", "/api/v1/users/{a}/forward") => client.SendJsonAsync(HttpMethod.Put, path, new { targets = new[] { "fwd@remote.test" }, keepCopy = true }),
            ("PUT", "/api/v1/users/{a}/vacation") => client.SendJsonAsync(HttpMethod.Put, path, new { text = "Away.", subject = "Away" }),
            ("POST", "/domains/{d}/lists") => client.PostFormAsync(path, new Dictionary<string, string> { ["local"] = "n" + local, ["name"] = "N", ["policy"] = "open" }),
            ("POST", "/domains/{d}/lists/{list}") => client.PostFormAsync(path, new Dictionary<string, string>
            {
                ["name"] = "L",
                ["policy"] = "open",
                ["prefix"] = $"[c{local}]",
                ["reply-to"] = "none",
                ["from-rewrite"] = "never",
                ["max-bytes"] = "0",
                ["owner"] = "",
                ["trailer"] = "",
                ["confirm-unsubscribe"] = "yes",
            }),
            ("POST", "/domains/{d}/lists/{list}/delete") => client.PostFormAsync(path, new Dictionary<string, string> { ["confirm"] = "yes" }),
            ("POST", "/domains/{d}/lists/{list}/{set}") => client.PostFormAsync(path, new Dictionary<string, string> { ["addresses"] = $"n{local}@remote.test" }),
            ("POST", "/domains/{d}/lists/{list}/{set}/delete") => client.PostFormAsync(path, new Dictionary<string, string> { ["address"] = $"s{local}@remote.test" }),
            ("POST", "/api/v1/domains/{d}/lists") => client.SendJsonAsync(HttpMethod.Post, path, new { local = "n" + local, settings = new { prefix = "[n]" } }),
            ("PATCH", "/api/v1/domains/{d}/lists/{list}") => client.SendJsonAsync(HttpMethod.Patch, path, new { prefix = $"[c{local}]" }),
            ("POST", "/api/v1/domains/{d}/lists/{list}/{set}") => client.SendJsonAsync(HttpMethod.Post, path, new { addresses = new[] { $"n{local}@remote.test" } }),
            _ => throw new InvalidOperationException($"no request for {method} {route}"),
        };
    }

    /// <summary>Whether the store shows the request's change; null for requests whose change is not checked here.</summary>
    /// <summary>Whether the store or the queue shows a system request's change; null when not checked here.</summary>
    private bool? SystemChanged(string method, string route, string network, string ip, string queueId) => (method + " " + route) switch
    {
        "POST /relay" or "POST /api/v1/relayrules" => web.Store.ListRelayRules().Any(r => r.Network == network),
        "POST /relay/delete" or "DELETE /api/v1/relayrules" => web.Store.ListRelayRules().All(r => r.Network != network),
        "POST /ipmaps" or "POST /api/v1/ipmaps" => web.Store.ListIpMap().Any(m => m.Address == ip),
        "POST /ipmaps/delete" or "DELETE /api/v1/ipmaps/{ip}" => web.Store.ListIpMap().All(m => m.Address != ip),
        "POST /queue/{q}/delete" or "DELETE /api/v1/queue/{q}" => !web.Server.Queue.Contains(queueId),
        _ => null,
    };

    private Mailward.Core.Lists.ListAdmin Lists() => new(web.Store,
        new Mailward.Core.MailStore.MailStoreLayout(web.Server.Services.GetRequiredService<Mailward.Core.Configuration.MailwardSettings>().MailStorePath),
        Mailward.Core.Lists.ListOptions.Default);

    /// <summary>A list of the cell's own (l{local}@a.test) with one subscriber, and the query of that subscriber's one-click link.</summary>
    private string OneClickQuery(string local)
    {
        var folder = Lists().Add($"l{local}@a.test", new Mailward.Core.Lists.ListConfig());
        Lists().Change(folder.Address, Mailward.Core.Lists.MemberSet.Subscribers, [$"s{local}@remote.test"], add: true);
        var token = Mailward.Core.Lists.ListOneClick.Token(folder.ReadSecret(), folder.Address, $"s{local}@remote.test");
        return $"?list={Uri.EscapeDataString(folder.Address)}&address={Uri.EscapeDataString($"s{local}@remote.test")}&token={token}";
    }

    private bool ListExists(string address) => Lists().Resolve(address).Folder.Exists;

    /// <summary>A max-lists value that names the cell (the limits are set whole, so the value shows whose request landed).</summary>
    private static string Lists(string local) => (1000 + int.Parse(local[1..], System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private bool? Changed(string method, string route, string domain, string local, string newDomain, string? hashBefore) => (method + " " + route) switch
    {
        "POST /domains/{d}/aliases" or "POST /api/v1/domains/{d}/aliases" => web.Store.FindAlias("n" + local, domain) is not null,
        "POST /domains/{d}/aliases/{u}/delete" or "DELETE /api/v1/domains/{d}/aliases/{u}" => web.Store.FindAlias(local, domain) is null,
        "POST /domains/{d}/catchall" or "PUT /api/v1/domains/{d}/catchall" => web.Store.FindDomain(domain)!.CatchAll.Target == $"c{local}@remote.test",
        "POST /domains/{d}/limits" or "PUT /api/v1/domains/{d}/limits" => web.Store.FindDomain(domain)!.Limits.MaxLists?.ToString(System.Globalization.CultureInfo.InvariantCulture) == Lists(local),
        "POST /domains/{d}/aliasdomains" or "POST /api/v1/domains/{d}/aliasdomains" => web.Store.FindDomain($"al{local}.test") is not null,
        "POST /domains/{d}/aliasdomains/{x}/delete" or "DELETE /api/v1/domains/{d}/aliasdomains/{x}" => web.Store.FindDomain($"al{local}.test") is null,
        "DELETE /api/v1/domains/{d}" => web.Store.FindDomain(domain) is null,
        "PATCH /api/v1/users/{a}" => web.Store.FindUser(local, domain)!.Gecos == "Renamed " + local,
        "PUT /api/v1/users/{a}/password" or "POST /domains/{d}/users/{u}/password" => web.Store.FindUser(local, domain)!.PasswordHash != hashBefore,
        "POST /domains/{d}/users/{u}/flags" => web.Store.FindUser(local, domain)!.Flags.HasFlag(UserFlags.NoImap),
        "POST /domains/{d}/users/{u}/forward" => web.Store.FindAlias(local, domain) is not null,
        "POST /domains/{d}/users/{u}/vacation" => web.Store.FindAutoresponder(web.Store.FindDomain(domain)!.Id, local) is not null,
        "POST /domains/{d}/users/{u}/vacation/delete" => web.Store.FindAutoresponder(web.Store.FindDomain(domain)!.Id, local) is null,
        "PUT /api/v1/users/{a}/forward" => web.Store.FindAlias(local, domain) is not null,
        "PUT /api/v1/users/{a}/vacation" => web.Store.FindAutoresponder(web.Store.FindDomain(domain)!.Id, local) is not null,
        "POST /domains" or "POST /api/v1/domains" => web.Store.FindDomain(newDomain) is not null,
        "POST /domains/{d}/users" or "POST /api/v1/domains/{d}/users" => web.Store.FindUser("n" + local, domain) is not null,
        "POST /domains/{d}/users/{u}/delete" or "DELETE /api/v1/users/{a}" => web.Store.FindUser(local, domain) is null,
        "POST /domains/{d}/users/{u}/quota" or "PUT /api/v1/users/{a}/quota" => web.Store.FindUser(local, domain)!.Quota == Quota.Parse("20M"),
        "POST /api/v1/keys" or "POST /keys" => web.Store.ListApiKeys().Any(k => k.Name == "n" + local),
        "POST /lists/unsubscribe" => !Lists().Members($"l{local}@a.test", Mailward.Core.Lists.MemberSet.Subscribers).Contains($"s{local}@remote.test"),
        "POST /api/v1/admins" => web.Store.ListAllAdminGrants().Contains(new AdminGrant($"{local}@a.test", domain)),
        "DELETE /api/v1/admins/{g}/{d}" => !web.Store.ListAllAdminGrants().Contains(new AdminGrant($"{local}@a.test", domain)),
        "DELETE /api/v1/keys/{k}" or "POST /keys/{k}/revoke" => web.Store.ListApiKeys().Single(k => k.Name == "k" + local).RevokedAt is not null,
        "POST /domains/{d}/lists" or "POST /api/v1/domains/{d}/lists" => ListExists($"n{local}@{domain}"),
        "POST /domains/{d}/lists/{list}" or "PATCH /api/v1/domains/{d}/lists/{list}" => Lists().Info($"l{local}@{domain}").Config.Prefix == $"[c{local}]",
        "POST /domains/{d}/lists/{list}/delete" or "DELETE /api/v1/domains/{d}/lists/{list}" => !ListExists($"l{local}@{domain}"),
        "POST /domains/{d}/lists/{list}/{set}/delete" => !Lists().Members($"l{local}@{domain}", Mailward.Core.Lists.MemberSet.Subscribers).Contains($"s{local}@remote.test"),
        "POST /domains/{d}/lists/{list}/{set}" or "POST /api/v1/domains/{d}/lists/{list}/{set}" => Lists().Members($"l{local}@{domain}", Mailward.Core.Lists.MemberSet.Subscribers).Contains($"n{local}@remote.test"),
        "DELETE /api/v1/domains/{d}/lists/{list}/{set}/{member}" => !Lists().Members($"l{local}@{domain}", Mailward.Core.Lists.MemberSet.Subscribers).Contains($"s{local}@remote.test"),
        _ => null,
    };

    [Fact]
    public void Every_rule_of_the_table_has_cells_for_every_role()
    {
        var tested = Table.Select(t => (t.Method, Route: t.Route.Replace("{u}", "{local}", StringComparison.Ordinal).Replace("{a}", "{address}", StringComparison.Ordinal)
            .Replace("{d}", "{domain}", StringComparison.Ordinal).Replace("{k}", "{name}", StringComparison.Ordinal)
            .Replace("{x}", "{alias}", StringComparison.Ordinal).Replace("{q}", "{id}", StringComparison.Ordinal).Replace("{ip}", "{address}", StringComparison.Ordinal)
            .Replace("{g}", "{address}", StringComparison.Ordinal))).ToHashSet();
        // Need.Anyone: WebSecurityTests, WebTotpTests, WebAutoconfigTests
        var open = new HashSet<string> { "/", "/login", "/login/totp", "/assets/{name}", "/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml", "/autodiscover/autodiscover.xml" };
        foreach (var rule in Mailward.Web.Access.WebAccess.Table.Where(r => !open.Contains(r.Route)))
            Assert.Contains((rule.Method, rule.Route), tested);
        foreach (var (_, _, cells) in Table)
            foreach (var role in Roles)
                Assert.Contains(role + (cells.Contains(role + "/", StringComparison.Ordinal) ? "/" : "="), cells);
    }

    [Fact]
    public async Task A_delete_through_the_api_of_a_refused_user_leaves_it()
    {
        using var client = await web.LoggedInAsync(WebServer.Postmaster);
        using var r = await client.SendJsonAsync(HttpMethod.Delete, $"/api/v1/users/{WebServer.Stranger}");
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.NotNull(web.Store.FindUser("v1", "b.test"));
    }
}
