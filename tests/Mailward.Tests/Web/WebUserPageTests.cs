// The admin's page of one user over HTTP against the real server: what it shows, the flags a
// domain admin may and may not set (the system's flags refused whole, domain-admin only in its own
// domains), a generated password shown once, a flag change ending the user's live session, and
// each change in the audit log with the web as its origin.
using System.Net;
using System.Text.RegularExpressions;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;

namespace Mailward.Tests.Web;

public sealed partial class WebUserPageTests(WebServer web) : IClassFixture<WebServer>
{
    [Fact]
    public async Task The_page_shows_the_user_its_flags_forward_vacation_and_last_login()
    {
        await web.Admin.AddUserAsync(Actor.System, "page1@a.test", new PasswordInput.Clear("x-secret-1"), "Page <One>", Quota.Parse("10M"), UserFlags.NoPop);
        await web.Admin.SetForwardAsync(Actor.System, "page1@a.test", ["away@remote.test"], keepCopy: true);
        await web.Admin.SetAutoresponderAsync(Actor.System, "page1@a.test", new AutoresponderChange { Text = "Gone <fishing>.", IntervalDays = 4 });
        using (var login = web.Client())
            await login.LoginOkAsync("page1@a.test", "x-secret-1");
        var page1 = web.Store.FindUser("page1", "a.test")!;
        web.Store.RecordLogin(page1.Id, new LastLogin(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), "192.0.2.44", "imap"));
        web.Store.RecordLogin(page1.Id, new LastLogin(DateTimeOffset.UtcNow.AddSeconds(30), "127.0.0.1", "web")); // the newest again
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        var html = await c.GetStringAsync("/domains/a.test/users/page1");
        Assert.Contains("Page &lt;One&gt;", html, StringComparison.Ordinal);
        Assert.Contains("<dd id=\"flags\">no-pop</dd>", html, StringComparison.Ordinal);
        Assert.Contains("name=\"no-pop\" value=\"yes\" checked", html, StringComparison.Ordinal);
        Assert.Contains("forwarded to away@remote.test, with a copy kept", html, StringComparison.Ordinal);
        Assert.Contains("Gone &lt;fishing&gt;.", html, StringComparison.Ordinal);
        Assert.Contains("value=\"4\"", html, StringComparison.Ordinal);
        Assert.Contains("<dd id=\"usage\">0 bytes, 0 messages</dd>", html, StringComparison.Ordinal);
        Assert.Matches(@"<dd id=""last-login"">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, web, from 127\.0\.0\.1</dd>", html);
        // Per service: the IMAP login stays though a web login came after it.
        Assert.Contains("<tr><td>imap</td><td>2026-01-02 03:04:05</td><td>192.0.2.44</td></tr>", html, StringComparison.Ordinal);
        Assert.Matches(@"<tr><td>web</td><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td><td>127\.0\.0\.1</td></tr>", html);
        // A domain admin is offered no box for the system's flags.
        Assert.DoesNotContain("name=\"system-admin\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("name=\"no-limits\"", html, StringComparison.Ordinal);
        // The domain page links the user's page.
        Assert.Contains("href=\"/domains/a.test/users/page1\"", await c.GetStringAsync("/domains/a.test?q=page1"), StringComparison.Ordinal);
        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        Assert.Contains("name=\"system-admin\"", await sa.GetStringAsync("/domains/a.test/users/page1"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_domain_admin_sets_flags_but_never_a_system_flag_and_domain_admin_only_in_its_domains()
    {
        await web.Admin.AddUserAsync(Actor.System, "flag1@a.test", new PasswordInput.Clear("x-secret-1"));
        await web.Admin.AddUserAsync(Actor.System, "flag2@b.test", new PasswordInput.Clear("x-secret-1"));
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        using (var r = await c.PostFormAsync("/domains/a.test/users/flag1/flags", new Dictionary<string, string> { ["no-imap"] = "yes", ["domain-admin"] = "yes" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Equal(UserFlags.NoImap | UserFlags.DomainAdmin, web.Store.FindUser("flag1", "a.test")!.Flags);

        // Mass assignment: a system flag posted by a domain admin (no box was offered) is refused whole.
        foreach (var flag in new[] { "system-admin", "no-limits", "expert" })
        {
            using var r = await c.PostFormAsync("/domains/a.test/users/flag1/flags", new Dictionary<string, string> { [flag] = "yes", ["no-pop"] = "yes" });
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            Assert.Contains("only the system sets or clears " + flag, WebUtility.HtmlDecode(await r.Content.ReadAsStringAsync()), StringComparison.Ordinal);
            Assert.Equal(UserFlags.NoImap | UserFlags.DomainAdmin, web.Store.FindUser("flag1", "a.test")!.Flags);
        }
        // Another tenant's user: refused, not made a domain admin there.
        using (var r = await c.PostFormAsync("/domains/b.test/users/flag2/flags", new Dictionary<string, string> { ["domain-admin"] = "yes" }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Equal(UserFlags.None, web.Store.FindUser("flag2", "b.test")!.Flags);

        // A system-set no-limits survives a domain admin's save (its box is not offered, so not cleared).
        await web.Admin.ModifyUserAsync(Actor.System, "flag1@a.test", new UserChange { Set = UserFlags.NoLimits });
        using (var r = await c.PostFormAsync("/domains/a.test/users/flag1/flags", new Dictionary<string, string> { ["no-pop"] = "yes" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Equal(UserFlags.NoPop | UserFlags.NoLimits, web.Store.FindUser("flag1", "a.test")!.Flags);
        // The system admin's form has every box: unticked, no-limits goes.
        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        using (var r = await sa.PostFormAsync("/domains/a.test/users/flag1/flags", new Dictionary<string, string> { ["no-pop"] = "yes" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Equal(UserFlags.NoPop, web.Store.FindUser("flag1", "a.test")!.Flags);

        var audit = web.Store.ListAudit(new AuditQuery(null, 200, Domain: "a.test")).Items.Where(a => a.Target == "flag1@a.test" && a.Operation == nameof(AdminOperation.ModifyUser)).ToList();
        Assert.Contains(audit, a => a.Actor == WebServer.Postmaster && a.Origin.StartsWith("web ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_flag_or_password_set_by_the_admin_ends_the_users_live_session()
    {
        await web.Admin.AddUserAsync(Actor.System, "sess1@a.test", new PasswordInput.Clear("x-secret-1"));
        using var user = await web.LoggedInAsync("sess1@a.test", "x-secret-1");
        using (var r = await user.GetAsync("/account"))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using var c = await web.LoggedInAsync(WebServer.Postmaster);
        using (var r = await c.PostFormAsync("/domains/a.test/users/sess1/flags", new Dictionary<string, string> { ["no-pop"] = "yes" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        using (var r = await user.GetAsync("/account"))
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);

        // An empty password: a random one, shown once in the flash; it logs in.
        await user.LoginOkAsync("sess1@a.test", "x-secret-1");
        using (var r = await c.PostFormAsync("/domains/a.test/users/sess1/password", new Dictionary<string, string> { ["password"] = "" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        var page = await c.GetStringAsync("/domains/a.test/users/sess1");
        var generated = Generated().Match(page).Groups[1].Value;
        Assert.NotEmpty(generated);
        Assert.DoesNotContain(generated, await c.GetStringAsync("/domains/a.test/users/sess1"), StringComparison.Ordinal);
        using (var r = await user.GetAsync("/account"))
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        await user.LoginOkAsync("sess1@a.test", generated);
    }

    [Fact]
    public async Task The_admin_sets_and_clears_a_forward_and_a_vacation_but_not_postmasters_forward()
    {
        await web.Admin.AddUserAsync(Actor.System, "fw1@a.test", new PasswordInput.Clear("x-secret-1"));
        using var c = await web.LoggedInAsync(WebServer.FlaggedAdmin);
        using (var r = await c.PostFormAsync("/domains/a.test/users/fw1/forward", new Dictionary<string, string> { ["targets"] = "one@remote.test\ntwo@remote.test" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        var f = await web.Admin.GetForwardAsync(Actor.System, "fw1@a.test");
        Assert.Equal(["one@remote.test", "two@remote.test"], f.Targets);
        Assert.False(f.KeepCopy);
        // A program line is the command line's.
        using (var r = await c.PostFormAsync("/domains/a.test/users/fw1/forward", new Dictionary<string, string> { ["targets"] = "|/bin/sh -c id" }))
            Assert.Contains(r.StatusCode, new[] { HttpStatusCode.SeeOther, HttpStatusCode.Forbidden }); // refused: a message, or the 403 page
        Assert.Equal(["one@remote.test", "two@remote.test"], (await web.Admin.GetForwardAsync(Actor.System, "fw1@a.test")).Targets);
        // postmaster@ must reach a person (RFC 2142): its domain admins cannot redirect it.
        using (var r = await c.PostFormAsync("/domains/a.test/users/postmaster/forward", new Dictionary<string, string> { ["targets"] = "elsewhere@remote.test" }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Empty((await web.Admin.GetForwardAsync(Actor.System, WebServer.Postmaster)).Targets);

        using (var r = await c.PostFormAsync("/domains/a.test/users/fw1/vacation", new Dictionary<string, string>
        {
            ["subject"] = "Away",
            ["text"] = "Back on Monday.",
            ["start"] = "2099-01-01",
            ["end"] = "2099-01-31",
            ["interval"] = "2",
        }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        var a = await web.Admin.GetAutoresponderAsync(Actor.System, "fw1@a.test");
        Assert.Equal(("Away", "Back on Monday.", 2, false), (a!.Subject, a.Text, a.IntervalDays, a.ActiveNow));
        Assert.Equal(new DateTimeOffset(2099, 1, 31, 0, 0, 0, TimeSpan.Zero), a.EndsAt);
        // Out of bounds: the command line's message, nothing changed.
        using (var r = await c.PostFormAsync("/domains/a.test/users/fw1/vacation", new Dictionary<string, string> { ["text"] = "x", ["interval"] = "0" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Contains("the interval must be 1 to", await c.GetStringAsync("/domains/a.test/users/fw1"), StringComparison.Ordinal);
        Assert.Equal(2, (await web.Admin.GetAutoresponderAsync(Actor.System, "fw1@a.test"))!.IntervalDays);
        using (var r = await c.PostFormAsync("/domains/a.test/users/fw1/vacation/delete"))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Null(await web.Admin.GetAutoresponderAsync(Actor.System, "fw1@a.test"));
    }

    [GeneratedRegex("password of sess1@a.test set to ([^<\\s]+)")]
    private static partial Regex Generated();
}
