// The web admin's guards, each against the real server: anti-forgery tokens (forms, the API and the
// login form), the headers every answer carries, the session cookie's attributes, sessions that end
// (logout, idle, absolute, a new password elsewhere), logins through LoginService (last login
// "web", no-webmail, throttles shared with POP3), escaping, and bodies that try to set more than
// the endpoint takes.
using System.Net;
using System.Text;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Tests.Web;

public sealed class WebSecurityTests(WebServer web) : IClassFixture<WebServer>
{
    [Fact]
    public async Task A_form_post_without_the_token_or_with_a_wrong_one_is_refused_and_changes_nothing()
    {
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        using var none = await c.PostFormAsync("/domains/a.test/users", new Dictionary<string, string> { ["local"] = "csrf1", ["password"] = "x-secret-1" }, withToken: false);
        Assert.Equal(HttpStatusCode.Forbidden, none.StatusCode);
        using var wrong = await c.PostFormAsync("/domains/a.test/users",
            new Dictionary<string, string> { ["local"] = "csrf1", ["password"] = "x-secret-1", ["_csrf"] = "not-the-token" }, withToken: false);
        Assert.Equal(HttpStatusCode.Forbidden, wrong.StatusCode);
        Assert.Contains("anti-forgery", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(web.Store.FindUser("csrf1", "a.test"));
        // The same form with the token works: the refusal was the token's.
        using var ok = await c.PostFormAsync("/domains/a.test/users", new Dictionary<string, string> { ["local"] = "csrf1", ["password"] = "x-secret-1" });
        Assert.Equal(HttpStatusCode.SeeOther, ok.StatusCode);
        Assert.NotNull(web.Store.FindUser("csrf1", "a.test"));
    }

    [Fact]
    public async Task An_api_call_without_the_token_header_is_refused_as_a_problem()
    {
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        using var r = await c.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/users", new { local = "csrf2", password = "x-secret-1" }, withToken: false);
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        Assert.Equal("csrf", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        Assert.Null(web.Store.FindUser("csrf2", "a.test"));
    }

    [Fact]
    public async Task A_login_post_without_the_login_forms_cookie_is_refused()
    {
        using var c = web.Client();
        using var r = await c.PostFormAsync("/login", new Dictionary<string, string> { ["login"] = WebServer.User, ["password"] = WebServer.Password, ["_login"] = "guess" });
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Null(r.Headers.Location);
    }

    [Fact]
    public async Task Every_answer_carries_the_security_headers_and_pages_are_not_stored()
    {
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        foreach (var path in new[] { "/login", "/domains", "/domains/a.test", "/account", "/api/v1/me", "/no-such-page" })
        {
            using var r = await c.GetAsync(path);
            var csp = string.Join(";", r.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
            Assert.Equal("nosniff", r.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.True(r.Headers.CacheControl?.NoStore, $"{path}: Cache-Control no-store");
        }
        using var css = await c.GetAsync("/assets/site.css");
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        Assert.Equal("text/css", css.Content.Headers.ContentType?.MediaType);
        // No page refers to anything but this origin: no CDN, no inline script.
        var page = await c.GetStringAsync("/domains/a.test");
        Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http", page.Replace("http-equiv", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_session_cookie_is_httponly_samesite_strict_and_never_one_the_browser_brought()
    {
        using var c = web.Client();
        // A session id planted before the login (session fixation) is not the one the login makes.
        c.Cookies.Add(new Uri($"http://{web.Server.Admin}"), new Cookie("mailward", "planted-by-someone-else"));
        var login = await c.LoginAsync(WebServer.User, WebServer.Password);
        var header = login.Headers.GetValues("Set-Cookie").Single(h => h.StartsWith("mailward=", StringComparison.Ordinal));
        Assert.Contains("httponly", header, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", header, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", header, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", header, StringComparison.OrdinalIgnoreCase); // plain HTTP on loopback: a Secure cookie would never come back
        Assert.DoesNotContain("planted-by-someone-else", header, StringComparison.Ordinal);
        Assert.True(header.Split(';')[0].Length > "mailward=".Length + 40, header);
    }

    [Fact]
    public async Task Logout_ends_the_session_on_the_server_not_only_in_the_browser()
    {
        using var c = await web.LoggedInAsync(WebServer.User);
        var cookie = c.Cookies.GetCookies(new Uri($"http://{web.Server.Admin}"))["mailward"]!.Value;
        using var bye = await c.PostFormAsync("/logout");
        Assert.Equal(HttpStatusCode.SeeOther, bye.StatusCode);
        // A copy of the old cookie (stolen, or kept) no longer works.
        using var replay = web.Client();
        replay.Cookies.Add(new Uri($"http://{web.Server.Admin}"), new Cookie("mailward", cookie));
        using var r = await replay.GetAsync("/account");
        Assert.Equal(HttpStatusCode.Found, r.StatusCode);
        Assert.Equal("/login", r.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task A_new_password_ends_the_accounts_other_sessions_and_keeps_this_one()
    {
        await web.Admin.AddUserAsync(Actor.System, "pwchange@a.test", new PasswordInput.Clear(WebServer.Password));
        using var phone = await web.LoggedInAsync("pwchange@a.test");
        using var laptop = await web.LoggedInAsync("pwchange@a.test");
        using var change = await laptop.PostFormAsync("/account/password",
            new Dictionary<string, string> { ["old"] = WebServer.Password, ["new"] = "New-secret-7", ["again"] = "New-secret-7" });
        Assert.Equal(HttpStatusCode.SeeOther, change.StatusCode);
        Assert.Contains("password changed", await laptop.GetStringAsync("/account"), StringComparison.Ordinal);
        using var other = await phone.GetAsync("/account");
        Assert.Equal(HttpStatusCode.Found, other.StatusCode);
        Assert.True(await PasswordWorksAsync("pwchange@a.test", "New-secret-7"));

        // A password changed by an admin (the command line) ends the sessions too.
        using var again = await web.LoggedInAsync("pwchange@a.test", "New-secret-7");
        await web.Admin.SetPasswordAsync(Actor.System, "pwchange@a.test", new PasswordInput.Clear("Third-secret-9"));
        Assert.Equal(HttpStatusCode.Found, (await again.GetAsync("/account")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_old_password_or_two_different_new_ones_change_nothing()
    {
        using var c = await web.LoggedInAsync(WebServer.OtherUser);
        using var wrong = await c.PostFormAsync("/account/password", new Dictionary<string, string> { ["old"] = "nope", ["new"] = "A-1", ["again"] = "A-1" });
        Assert.Equal(HttpStatusCode.SeeOther, wrong.StatusCode);
        Assert.Contains("the old password is not correct", await c.GetStringAsync("/account"), StringComparison.Ordinal);
        using var mismatch = await c.PostFormAsync("/account/password", new Dictionary<string, string> { ["old"] = WebServer.Password, ["new"] = "A-1", ["again"] = "B-1" });
        Assert.Contains("passwords do not match", await c.GetStringAsync("/account"), StringComparison.Ordinal);
        Assert.True(await PasswordWorksAsync(WebServer.OtherUser, WebServer.Password));
    }

    [Fact]
    public async Task No_password_change_is_the_commands_rule_on_the_web_too()
    {
        using var c = await web.LoggedInAsync(WebServer.NoPasswordChange);
        Assert.Contains("no-password-change", await c.GetStringAsync("/account"), StringComparison.Ordinal);
        using var r = await c.SendJsonAsync(HttpMethod.Put, "/api/v1/me/password", new { oldPassword = WebServer.Password, newPassword = "Other-1" });
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        var problem = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("not-permitted", problem.GetProperty("error").GetString());
        Assert.Equal(22, problem.GetProperty("exitCode").GetInt32()); // the exit status vchangepw gives
        Assert.True(await PasswordWorksAsync(WebServer.NoPasswordChange, WebServer.Password));
    }

    [Fact]
    public async Task No_webmail_closes_the_web_to_a_user_and_the_user_pages_to_an_admin()
    {
        using var c = web.Client();
        using var r = await c.LoginAsync(WebServer.NoWebmail, WebServer.Password);
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Contains("may not use the web pages", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await web.Admin.AddUserAsync(Actor.System, "nwadmin@a.test", new PasswordInput.Clear(WebServer.Password), flags: UserFlags.DomainAdmin | UserFlags.NoWebmail);
        using var admin = await web.LoggedInAsync("nwadmin@a.test");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/domains/a.test")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync("/account")).StatusCode);
    }

    [Fact]
    public async Task A_web_login_is_recorded_as_the_last_login_with_service_web()
    {
        using var c = await web.LoggedInAsync(WebServer.FlaggedAdmin);
        var me = await c.GetJsonAsync($"/api/v1/users/{WebServer.FlaggedAdmin}");
        Assert.Equal("web", me.GetProperty("lastLogin").GetProperty("service").GetString());
        Assert.Equal("127.0.0.1", me.GetProperty("lastLogin").GetProperty("address").GetString());
        // The domain-admin flag makes it an admin of its own domain only.
        Assert.Equal("domain admin", (await c.GetJsonAsync("/api/v1/me")).GetProperty("role").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await c.GetAsync("/domains/b.test")).StatusCode);
    }

    [Fact]
    public async Task A_stored_script_is_shown_as_text()
    {
        await web.Admin.AddUserAsync(Actor.System, "xss@a.test", new PasswordInput.Clear(WebServer.Password), "<script>alert(1)</script>\"><img src=x>");
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        var page = await c.GetStringAsync("/domains/a.test?q=xss");
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x&gt;", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", page, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_sets_more_than_the_endpoint_takes_is_refused()
    {
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        using var flags = await c.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/users",
            """{"local":"mass1","password":"x-secret-1","flags":["system-admin"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, flags.StatusCode);
        Assert.Null(web.Store.FindUser("mass1", "a.test"));
        // A quota above the domain's quota (100M) is the limits' business, not a domain admin's.
        using var quota = await c.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/users", new { local = "mass2", password = "x-secret-1", quota = "1G" });
        Assert.Equal(HttpStatusCode.Forbidden, quota.StatusCode);
        Assert.Null(web.Store.FindUser("mass2", "a.test"));
        await web.Admin.AddUserAsync(Actor.System, "mass3@a.test", new PasswordInput.Clear("x-secret-1"), quota: Quota.Parse("10M"));
        using var page = await c.PostFormAsync("/domains/a.test/users/mass3/quota", new Dictionary<string, string> { ["quota"] = "NOQUOTA" });
        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        Assert.Equal(Quota.Parse("10M"), web.Store.FindUser("mass3", "a.test")!.Quota);
    }

    [Fact]
    public async Task Flags_limits_or_another_domain_in_a_hidden_field_or_the_query_are_refused()
    {
        // A page form post carrying a field its form does not have is refused whole (400, a plain
        // error page, nothing changed), as the API refuses an unknown body member, and so is a page
        // post with a query string; on the API a query's names are no body member and land nowhere.
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        var limits = web.Store.FindDomain("a.test")!.Limits;
        foreach (var (field, value) in new[] { ("flags", "system-admin"), ("systemAdmin", "true"), ("domain", "b.test"), ("max-users", "100000") })
        {
            using var r = await c.PostFormAsync("/domains/a.test/users", new Dictionary<string, string>
            {
                ["local"] = "mass4",
                ["password"] = "x-secret-1",
                ["quota"] = "",
                [field] = value,
            });
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var html = await r.Content.ReadAsStringAsync();
            Assert.Contains("This form has no field", html, StringComparison.Ordinal);
            Assert.Contains(field, html, StringComparison.Ordinal);
            Assert.Null(web.Store.FindUser("mass4", "a.test"));
            Assert.Null(web.Store.FindUser("mass4", "b.test"));
        }
        await web.Admin.AddUserAsync(Actor.System, "mass7@a.test", new PasswordInput.Clear("x-secret-1"), quota: Quota.Parse("10M"));
        using (var r = await c.PostFormAsync("/domains/a.test/users/mass7/quota", new Dictionary<string, string> { ["quota"] = "20M", ["flags"] = "system-admin" }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal((Quota.Parse("10M"), UserFlags.None), (web.Store.FindUser("mass7", "a.test")!.Quota, web.Store.FindUser("mass7", "a.test")!.Flags));
        string Aliases() => string.Join('\n', web.Store.ListAliases(web.Store.FindDomain("a.test")!.Id).Select(a => a.Local + ": " + string.Join(", ", a.Lines)));
        var aliases = Aliases();
        using (var r = await c.PostFormAsync("/account/forward", new Dictionary<string, string> { ["targets"] = "joe@example.net", ["keep"] = "yes", ["local"] = "mass7" }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal(aliases, Aliases());

        // The form's own fields (and the anti-forgery token PostFormAsync adds), with anything in the
        // query: refused whole, as an unknown field is (400, nothing made in either domain).
        var form = new Dictionary<string, string> { ["local"] = "mass4", ["password"] = "x-secret-1", ["quota"] = "", ["comment"] = "" };
        foreach (var query in new[] { "domain=b.test", "flags=system-admin", "max-users=100000", "systemAdmin=true", "local=mass8", "x" })
        {
            using var r = await c.PostFormAsync("/domains/a.test/users?" + query, form);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("This form takes no query parameter", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Null(web.Store.FindUser("mass4", "a.test"));
            Assert.Null(web.Store.FindUser("mass4", "b.test"));
            Assert.Null(web.Store.FindUser("mass8", "a.test"));
        }
        await web.Admin.AddUserAsync(Actor.System, "mass9@a.test", new PasswordInput.Clear("x-secret-1"));
        using (var r = await c.PostFormAsync("/domains/a.test/users/mass9/flags?system-admin=yes", new Dictionary<string, string> { ["no-pop"] = "yes" }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal(UserFlags.None, web.Store.FindUser("mass9", "a.test")!.Flags);
        // Without the query, the same post is done.
        using (var r = await c.PostFormAsync("/domains/a.test/users", form))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        using (var r = await c.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/users?domain=b.test&systemAdmin=true&flags=system-admin",
            new { local = "mass5", password = "x-secret-1" }))
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        foreach (var local in new[] { "mass4", "mass5" })
        {
            Assert.Equal(UserFlags.None, web.Store.FindUser(local, "a.test")!.Flags);
            Assert.Null(web.Store.FindUser(local, "b.test"));
        }
        // Another domain's name in the body: refused, nothing made in either domain.
        using (var r = await c.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/users", new { local = "mass6", password = "x-secret-1", domain = "b.test" }))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Null(web.Store.FindUser("mass6", "a.test"));
        Assert.Null(web.Store.FindUser("mass6", "b.test"));
        Assert.Equal(limits, web.Store.FindDomain("a.test")!.Limits);
    }

    [Fact]
    public async Task Api_errors_carry_the_commands_error_names_and_exit_codes()
    {
        using var c = await web.LoggedInAsync(WebServer.SystemAdmin);
        using var exists = await c.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/users", new { local = "u1", password = "x-secret-1" });
        Assert.Equal(HttpStatusCode.Conflict, exists.StatusCode);
        var p = JsonDocument.Parse(await exists.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("user-exists", p.GetProperty("error").GetString());
        Assert.Equal(12, p.GetProperty("exitCode").GetInt32());
        Assert.Equal("urn:mailward:problem:user-exists", p.GetProperty("type").GetString());
        Assert.Equal("user already exists: u1@a.test", p.GetProperty("detail").GetString());
        using var missing = await c.GetAsync("/api/v1/domains/nowhere.test");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var badQuota = await c.SendJsonAsync(HttpMethod.Put, "/api/v1/users/u1@a.test/quota", new { quota = "lots" });
        Assert.Equal(17, JsonDocument.Parse(await badQuota.Content.ReadAsStringAsync()).RootElement.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task The_domains_list_and_a_domains_users_page_by_cursor_and_search()
    {
        using var c = await web.LoggedInAsync(WebServer.SystemAdmin);
        for (var i = 0; i < 5; i++)
            await web.Admin.AddUserAsync(Actor.System, $"page{i}@b.test", new PasswordInput.Clear("x-secret-1"));
        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await c.GetJsonAsync($"/api/v1/domains/b.test/users?search=page&limit=2{(after is null ? "" : "&after=" + after)}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("address").GetString()!));
            after = page.GetProperty("next").GetString();
        }
        while (after is not null);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"page{i}@b.test"), seen);
        // The domain admin's list holds its domain only.
        using var pm = await web.LoggedInAsync(WebServer.Postmaster);
        var mine = await pm.GetJsonAsync("/api/v1/domains");
        Assert.Equal(["a.test"], mine.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("name").GetString()));
        Assert.DoesNotContain("b.test", await pm.GetStringAsync("/domains"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_web_logins_count_in_the_same_throttle_as_pop3()
    {
        // A server of its own: the throttle of this client address must start empty.
        await using var server = await WebServer.StartAsync(null, "--Pop3:MaxLoginFailuresPerClient=3");
        using var c = new WebClient(server.Admin, "127.0.0.7");
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await c.LoginAsync(WebServer.User, "wrong")).StatusCode);
        Assert.Equal((HttpStatusCode)429, (await c.LoginAsync(WebServer.User, WebServer.Password)).StatusCode);
        // POP3 from the same address is throttled by the web's failures.
        await using var pop = await server.ConnectAsync("127.0.0.7", server.Pop3);
        using var reader = new StreamReader(pop, Encoding.ASCII);
        Assert.StartsWith("+OK", await reader.ReadLineAsync(), StringComparison.Ordinal);
        await pop.WriteAsync(Encoding.ASCII.GetBytes($"USER {WebServer.User}\r\nPASS {WebServer.Password}\r\n"));
        Assert.StartsWith("+OK", await reader.ReadLineAsync(), StringComparison.Ordinal);
        Assert.StartsWith("-ERR", await reader.ReadLineAsync(), StringComparison.Ordinal);
        // Another address is not affected.
        using var other = new WebClient(server.Admin, "127.0.0.8");
        Assert.Equal(HttpStatusCode.SeeOther, (await other.LoginAsync(WebServer.User, WebServer.Password)).StatusCode);
    }

    [Fact]
    public async Task A_session_ends_after_the_idle_time_and_after_the_absolute_time()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await WebServer.StartAsync(clock, "--Admin:SessionIdleMinutes=30", "--Admin:SessionMaxHours=1");
        using var idle = new WebClient(server.Admin);
        await idle.LoginOkAsync(WebServer.User, WebServer.Password);
        clock.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(HttpStatusCode.OK, (await idle.GetAsync("/account")).StatusCode);
        clock.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal(HttpStatusCode.Found, (await idle.GetAsync("/account")).StatusCode);

        using var busy = new WebClient(server.Admin);
        await busy.LoginOkAsync(WebServer.User, WebServer.Password);
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(TimeSpan.FromMinutes(20));
            Assert.Equal(HttpStatusCode.OK, (await busy.GetAsync("/account")).StatusCode);
        }
        clock.Advance(TimeSpan.FromMinutes(1)); // 61 minutes after login, active all along
        Assert.Equal(HttpStatusCode.Found, (await busy.GetAsync("/account")).StatusCode);
    }

    /// <summary>Checks a password the way the mail protocols do: the server's own LoginService, from another address.</summary>
    private async Task<bool> PasswordWorksAsync(string address, string password)
    {
        var logins = web.Server.Services.GetRequiredService<LoginService>();
        return (await logins.VerifyAsync(address, password, IPAddress.Parse("127.0.0.66"), null, "test", UserFlags.None)).Succeeded;
    }
}
