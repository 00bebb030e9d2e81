// The user's forward and a domain's aliases, catch-all, alias domains, limits and usage through the
// pages and the API against the real server: a forward with "keep a copy" delivers to the target
// and to the own mailbox (mail sent over SMTP), program, file and Maildir lines are refused from
// every web actor, lines the command line set are kept and block the page, the postmaster is not
// redirected by a domain admin, and the limits are shown to a domain admin but not offered to it.
using System.Net;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Tests.Delivery;

namespace Mailward.Tests.Web;

public sealed class WebForwardTests(DeliveringWebServer web) : IClassFixture<DeliveringWebServer>
{
    private static int _serial;

    private async Task<string> FreshUserAsync(string domain = "a.test")
    {
        var address = $"fw{Interlocked.Increment(ref _serial)}@{domain}";
        await web.Admin.AddUserAsync(Actor.System, address, new PasswordInput.Clear(WebServer.Password));
        return address;
    }

    [Fact]
    public async Task A_forward_with_a_copy_kept_delivers_to_the_target_and_to_the_own_mailbox()
    {
        var user = await FreshUserAsync();
        var target = await FreshUserAsync();
        using var client = await web.LoggedInAsync(user);
        using (var r = await client.PostFormAsync("/account/forward", new Dictionary<string, string> { ["targets"] = target, ["keep"] = "yes" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        var page = await client.GetStringAsync("/account/forward");
        Assert.Contains($"forwarded to {target}, with a copy kept here", page, StringComparison.Ordinal);

        await DeliveryTestMail.SendAsync(web.Server, user, "kept and forwarded");
        await DeliveryTestMail.SettleAsync(web.Server);
        Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(web.Server, user)));
        Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(web.Server, target)));
    }

    [Fact]
    public async Task A_forward_without_a_copy_leaves_the_own_mailbox_empty_and_off_brings_mail_back()
    {
        var user = await FreshUserAsync();
        var target = await FreshUserAsync();
        using var client = await web.LoggedInAsync(user);
        using (var r = await client.SendJsonAsync(HttpMethod.Put, $"/api/v1/users/{user}/forward", new { targets = new[] { target }, keepCopy = false }))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var f = await client.GetJsonAsync($"/api/v1/users/{user}/forward");
        Assert.Equal([target], f.GetProperty("targets").EnumerateArray().Select(e => e.GetString()));
        Assert.False(f.GetProperty("keepCopy").GetBoolean());

        await DeliveryTestMail.SendAsync(web.Server, user, "forwarded only");
        await DeliveryTestMail.SettleAsync(web.Server);
        Assert.Empty(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(web.Server, user)));
        Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(web.Server, target)));

        using (var r = await client.SendJsonAsync(HttpMethod.Put, $"/api/v1/users/{user}/forward", new { targets = Array.Empty<string>() }))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var local = user[..user.IndexOf('@')];
        Assert.Null(web.Store.FindAlias(local, "a.test"));
        await DeliveryTestMail.SendAsync(web.Server, user, "home again");
        await DeliveryTestMail.SettleAsync(web.Server);
        Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(web.Server, user)));
    }

    [Theory]
    [InlineData("|/bin/sh -c 'touch /tmp/owned'")]
    [InlineData("/tmp/mbox")]
    [InlineData("/tmp/Maildir/")]
    [InlineData("./Maildir/")]
    [InlineData("&|/bin/true")]
    public async Task Program_file_and_maildir_lines_are_refused_to_every_web_actor(string line)
    {
        var user = await FreshUserAsync();
        var local = user[..user.IndexOf('@')];
        using var self = await web.LoggedInAsync(user);
        using (var r = await self.PostFormAsync("/account/forward", new Dictionary<string, string> { ["targets"] = line }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode); // back to the page with the refusal
        Assert.Contains("a forward goes to addresses only", await self.GetStringAsync("/account/forward"), StringComparison.Ordinal);

        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        using (var r = await sa.SendJsonAsync(HttpMethod.Put, $"/api/v1/users/{user}/forward", new { targets = new[] { line } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("invalid-argument", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }
        using (var r = await sa.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/aliases", new { local, target = line }))
            Assert.True(r.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.BadRequest, $"{(int)r.StatusCode}");
        using (var r = await sa.PostFormAsync("/domains/a.test/aliases", new Dictionary<string, string> { ["local"] = local, ["target"] = line }))
            Assert.True(r.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.SeeOther, $"{(int)r.StatusCode}");
        Assert.Null(web.Store.FindAlias(local, "a.test"));
    }

    [Fact]
    public async Task Lines_the_command_line_set_are_shown_kept_and_replaced_only_by_the_system()
    {
        var user = await FreshUserAsync();
        var local = user[..user.IndexOf('@')];
        await web.Admin.AddAliasLineAsync(Actor.System, user, "|/usr/bin/true");
        using var client = await web.LoggedInAsync(user);
        Assert.Contains("/usr/bin/true", await client.GetStringAsync("/account/forward"), StringComparison.Ordinal);
        using (var r = await client.SendJsonAsync(HttpMethod.Put, $"/api/v1/users/{user}/forward", new { targets = new[] { "x@remote.test" } }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Equal(["|/usr/bin/true"], web.Store.FindAlias(local, "a.test")!.Lines);

        // The system may: the command line's line stays, the forward joins it.
        await web.Admin.SetForwardAsync(Actor.System, user, ["x@remote.test"], keepCopy: false);
        Assert.Equal(["&x@remote.test", "|/usr/bin/true"], web.Store.FindAlias(local, "a.test")!.Lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_domain_admin_cannot_redirect_the_postmaster_or_abuse_but_sets_its_users_forwards()
    {
        await web.Admin.AddUserAsync(Actor.System, "abuse@a.test", new PasswordInput.Clear(WebServer.Password));
        using var da = await web.LoggedInAsync(WebServer.FlaggedAdmin);
        foreach (var protectedAddress in new[] { WebServer.Postmaster, "abuse@a.test" })
            using (var r = await da.SendJsonAsync(HttpMethod.Put, $"/api/v1/users/{protectedAddress}/forward", new { targets = new[] { "x@remote.test" } }))
                Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Null(web.Store.FindAlias("postmaster", "a.test"));
        Assert.Null(web.Store.FindAlias("abuse", "a.test"));

        var user = await FreshUserAsync();
        using (var r = await da.SendJsonAsync(HttpMethod.Put, $"/api/v1/users/{user}/forward", new { targets = new[] { "x@remote.test" }, keepCopy = true }))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(2, web.Store.FindAlias(user[..user.IndexOf('@')], "a.test")!.Lines.Count);
    }

    [Fact]
    public async Task The_settings_page_offers_limits_to_the_system_only_and_shows_usage_and_the_catch_all()
    {
        using var da = await web.LoggedInAsync(WebServer.Postmaster);
        var asAdmin = await da.GetStringAsync("/domains/a.test/settings");
        Assert.DoesNotContain("action=\"/domains/a.test/limits\"", asAdmin, StringComparison.Ordinal);
        Assert.DoesNotContain("action=\"/domains/a.test/aliasdomains\"", asAdmin, StringComparison.Ordinal);
        Assert.Contains("The limits are set by the system", asAdmin, StringComparison.Ordinal);
        Assert.Contains("id=\"usage\"", asAdmin, StringComparison.Ordinal);

        using (var r = await da.PostFormAsync("/domains/a.test/catchall", new Dictionary<string, string> { ["kind"] = "mailbox", ["target"] = "u2" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Equal(new CatchAll(CatchAllKind.Mailbox, "u2"), web.Store.FindDomain("a.test")!.CatchAll);
        await web.Admin.SetCatchAllAsync(Actor.System, "a.test", CatchAll.Bounce);

        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        var asSystem = await sa.GetStringAsync("/domains/a.test/settings");
        Assert.Contains("action=\"/domains/a.test/limits\"", asSystem, StringComparison.Ordinal);

        // Usage: a message delivered shows in the user's and the domain's figures.
        var user = await FreshUserAsync("c.test");
        await DeliveryTestMail.SendAsync(web.Server, user, "counted", new string('x', 2000));
        await DeliveryTestMail.SettleAsync(web.Server);
        var mine = await sa.GetJsonAsync($"/api/v1/users/{user}/usage");
        Assert.Equal(1, mine.GetProperty("messages").GetInt64());
        Assert.True(mine.GetProperty("bytes").GetInt64() > 2000);
        var domain = await sa.GetJsonAsync("/api/v1/domains/c.test/usage");
        Assert.True(domain.GetProperty("messages").GetInt64() >= 1);
        Assert.True(domain.GetProperty("mailboxes").GetInt32() >= 2);
    }

    [Fact]
    public async Task An_alias_added_on_the_page_is_found_by_search_and_removed()
    {
        using var da = await web.LoggedInAsync(WebServer.Postmaster);
        using (var r = await da.PostFormAsync("/domains/a.test/aliases", new Dictionary<string, string> { ["local"] = "sales", ["target"] = "boss@remote.test" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        var page = await da.GetStringAsync("/domains/a.test/aliases?q=sal");
        Assert.Contains("sales@a.test", page, StringComparison.Ordinal);
        Assert.Contains("boss@remote.test", page, StringComparison.Ordinal);
        var list = await da.GetJsonAsync("/api/v1/domains/a.test/aliases?search=sales");
        Assert.Equal("boss@remote.test", list.GetProperty("items")[0].GetProperty("targets")[0].GetString());
        using (var r = await da.PostFormAsync("/domains/a.test/aliases/sales/delete", new Dictionary<string, string> { ["confirm"] = "yes" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Null(web.Store.FindAlias("sales", "a.test"));
    }
}
