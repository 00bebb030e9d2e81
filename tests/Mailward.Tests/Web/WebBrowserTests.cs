// The web admin in a real browser: Debian's Chromium driven by Microsoft.Playwright against the
// real server, clicking through the forms as a person does (no JavaScript on the pages). A system
// admin adds a domain and a user; a postmaster manages its own domain and cannot reach another's
// or raise a quota past the domain's; a user changes its password and logs out, and sets a vacation
// message whose stored script stays text; a postmaster adds a forward and a catch-all and cannot
// raise its limits; a user forwards its mail keeping a copy; a system admin adds a relay rule and
// retries the queue; a postmaster opens a user's page and sets a flag and a forward. Each main page
// is saved as a screenshot in the test output (screenshots/). Skipped, saying so, without Chromium.
using System.Text.RegularExpressions;
using Mailward.Core.Admin;
using Mailward.Tests.Support;
using Microsoft.Playwright;

namespace Mailward.Tests.Web;

public sealed class WebBrowserTests(WebServer web) : IClassFixture<WebServer>
{
    private const string Chromium = "/usr/bin/chromium";

    private static readonly string Screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");

    private string Base => $"http://{web.Server.Admin}";

    private static async Task<(IPlaywright, IBrowser, IPage, List<string>)> OpenAsync()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Args = ["--no-sandbox"], Headless = true });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        var dialogs = new List<string>();
        page.Dialog += (_, d) =>
        {
            dialogs.Add(d.Message);
            _ = d.DismissAsync();
        };
        return (playwright, browser, page, dialogs);
    }

    private static readonly Regex LoginUrl = new("/login$");

    private async Task LogInAsync(IPage page, string address, string password)
    {
        await page.GotoAsync(Base + "/login");
        await page.GetByLabel("Address").FillAsync(address);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        // The new page's URL, then its "Log out" button (every signed-in page has one). Both are
        // assertions that retry: waiting for the load event, and WaitForURL even with Commit (it waits
        // for a load state when the URL already matches), timed out on two busy cores after the page
        // had loaded ("NetworkIdle" fired; the clean-clone runs of 2026-12-01 and 12-02).
        await Assertions.Expect(page).Not.ToHaveURLAsync(LoginUrl);
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Log out" })).ToBeVisibleAsync();
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(Screenshots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
    }

    [FactWhenInstalled(Chromium, "chromium")]
    public async Task A_system_admin_adds_a_domain_and_a_user()
    {
        var (playwright, browser, page, _) = await OpenAsync();
        using var _p = playwright;
        await using var _b = browser;
        await LogInAsync(page, WebServer.SystemAdmin, WebServer.Password);
        Assert.EndsWith("/domains", page.Url, StringComparison.Ordinal);
        await page.GetByLabel("Domain", new() { Exact = true }).FillAsync("shop.test");
        await page.GetByLabel("Postmaster password").FillAsync("Shop-secret-1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add domain" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("domain shop.test added");
        await ShotAsync(page, "domains");

        await page.GetByRole(AriaRole.Link, new() { Name = "shop.test" }).ClickAsync();
        await page.GetByLabel("User name").FillAsync("alice");
        await page.GetByLabel("Password").FillAsync("Alice-secret-1");
        await page.GetByLabel("Quota (empty").FillAsync("20M");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("user alice@shop.test added");
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "alice@shop.test" })).ToBeVisibleAsync();
        await ShotAsync(page, "domain");
        Assert.NotNull(web.Store.FindUser("alice", "shop.test"));
        Assert.NotNull(web.Store.FindUser("postmaster", "shop.test"));
    }

    [FactWhenInstalled(Chromium, "chromium")]
    public async Task A_postmaster_manages_its_own_domain_only_and_stored_markup_stays_text()
    {
        var (playwright, browser, page, dialogs) = await OpenAsync();
        using var _p = playwright;
        await using var _b = browser;
        await LogInAsync(page, WebServer.Postmaster, WebServer.Password);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "a.test" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "b.test" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Add domain" })).ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Link, new() { Name = "a.test" }).ClickAsync();
        await page.GetByLabel("User name").FillAsync("bob");
        await page.GetByLabel("Password").FillAsync("Bob-secret-1");
        await page.GetByLabel("Name or comment").FillAsync("<script>alert('xss')</script><img src=x onerror=alert(2)>");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add user" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("user bob@a.test added");
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "<script>alert('xss')</script><img src=x onerror=alert(2)>" })).ToBeVisibleAsync();
        Assert.Empty(dialogs);
        await ShotAsync(page, "domain-admin");

        // A quota above the domain's 100M is refused, and the quota stays.
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "bob@a.test" });
        await row.GetByLabel("quota of bob@a.test").FillAsync("1G");
        await row.GetByRole(AriaRole.Button, new() { Name = "Set" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Forbidden" })).ToBeVisibleAsync();
        Assert.NotEqual(Core.Accounts.Quota.Parse("1G"), web.Store.FindUser("bob", "a.test")!.Quota);

        // Another tenant's domain: refused, whether typed in or not.
        var other = await page.GotoAsync(Base + "/domains/b.test");
        Assert.Equal(403, other!.Status);
        await Assertions.Expect(page.GetByText("not an admin of b.test")).ToBeVisibleAsync();
    }

    [FactWhenInstalled(Chromium, "chromium")]
    public async Task A_user_changes_its_password_and_logging_out_ends_the_session()
    {
        await web.Admin.AddUserAsync(Actor.System, "carol@a.test", new PasswordInput.Clear("Carol-secret-1"));
        var (playwright, browser, page, _) = await OpenAsync();
        using var _p = playwright;
        await using var _b = browser;
        await LogInAsync(page, "carol@a.test", "Carol-secret-1");
        Assert.EndsWith("/account", page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Domains" })).ToHaveCountAsync(0);
        await page.GetByLabel("Current password").FillAsync("Carol-secret-1");
        await page.GetByLabel("New password", new() { Exact = true }).FillAsync("Carol-secret-2");
        await page.GetByLabel("New password again").FillAsync("Carol-secret-2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("password changed");
        await Assertions.Expect(page.GetByText("web, from 127.0.0.1")).ToBeVisibleAsync();
        await ShotAsync(page, "account");

        await page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(LoginUrl);
        await ShotAsync(page, "login");
        await page.GotoAsync(Base + "/account");
        Assert.EndsWith("/login", page.Url, StringComparison.Ordinal);
        // The new password works, the old one does not.
        await LogInAsync(page, "carol@a.test", "Carol-secret-2");
        Assert.EndsWith("/account", page.Url, StringComparison.Ordinal);
    }

    [FactWhenInstalled(Chromium, "chromium")]
    public async Task A_user_sets_a_vacation_message_and_a_stored_script_renders_inert()
    {
        await web.Admin.AddUserAsync(Actor.System, "dave@a.test", new PasswordInput.Clear("Dave-secret-1"));
        var (playwright, browser, page, dialogs) = await OpenAsync();
        using var _p = playwright;
        await using var _b = browser;
        await LogInAsync(page, "dave@a.test", "Dave-secret-1");
        await page.GetByRole(AriaRole.Link, new() { Name = "Vacation" }).ClickAsync();
        const string text = "Away until the 5th.\n<script>alert('vacation')</script><img src=x onerror=alert('img')>";
        await page.GetByLabel("Subject").FillAsync("Out of office <b>bold</b>");
        await page.GetByLabel("Message", new() { Exact = true }).FillAsync(text);
        await page.GetByLabel("Until").FillAsync("2099-01-05");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save vacation message" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("vacation message on");

        // Stored as typed, and shown back as text: no script ran, no element was made of it.
        var stored = await web.Admin.GetAutoresponderAsync(Actor.System, "dave@a.test");
        Assert.Equal(text, stored!.Text);
        Assert.Equal(new DateTimeOffset(2099, 1, 5, 0, 0, 0, TimeSpan.Zero), stored.EndsAt);
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByLabel("Message", new() { Exact = true })).ToHaveValueAsync(text);
        await Assertions.Expect(page.GetByLabel("Subject")).ToHaveValueAsync("Out of office <b>bold</b>");
        Assert.Equal(0, await page.Locator("main script, main img, main b").CountAsync());
        Assert.Empty(dialogs);
        await ShotAsync(page, "vacation");

        await page.GetByRole(AriaRole.Button, new() { Name = "Turn off" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("vacation message off");
        Assert.Null(await web.Admin.GetAutoresponderAsync(Actor.System, "dave@a.test"));
    }

    [FactWhenInstalled(Chromium, "chromium")]
    public async Task A_postmaster_adds_a_forward_and_a_catch_all_sees_its_audit_and_cannot_raise_its_limits()
    {
        var (playwright, browser, page, _) = await OpenAsync();
        using var _p = playwright;
        await using var _b = browser;
        await LogInAsync(page, WebServer.Postmaster, WebServer.Password);
        await page.GotoAsync(Base + "/domains/a.test");
        await page.GetByRole(AriaRole.Link, new() { Name = "Aliases and forwards" }).ClickAsync();
        await page.GetByLabel("Address (before @a.test)").FillAsync("sales");
        await page.GetByLabel("Goes to").FillAsync("boss@remote.test");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("sales@a.test now also goes to boss@remote.test");
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "sales@a.test" })).ToBeVisibleAsync();
        await ShotAsync(page, "aliases");

        // A program line is the command line's: refused, nothing stored.
        await page.GetByLabel("Address (before @a.test)").FillAsync("pipe");
        await page.GetByLabel("Goes to").FillAsync("|/bin/sh -c id");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Forbidden" })).ToBeVisibleAsync();
        Assert.Null(web.Store.FindAlias("pipe", "a.test"));

        await page.GotoAsync(Base + "/domains/a.test/settings");
        await page.GetByLabel("What happens").SelectOptionAsync("forward");
        await page.GetByLabel("User or address").FillAsync("catch@remote.test");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save catch-all" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("catch-all of a.test");
        Assert.Equal("catch@remote.test", web.Store.FindDomain("a.test")!.CatchAll.Target);
        // The limits are shown, not offered; posting the form anyway is refused.
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Save limits" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByText("The limits are set by the system")).ToBeVisibleAsync();
        await ShotAsync(page, "domain-settings");
        var token = await page.Locator("input[name=_csrf]").First.GetAttributeAsync("value");
        var refused = await page.APIRequest.PostAsync(Base + "/domains/a.test/limits", new() { Form = MakeForm(page, token!) });
        Assert.Equal(403, refused.Status);
        Assert.Null(web.Store.FindDomain("a.test")!.Limits.MaxUsers);

        await page.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).First.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "SetCatchAll" }).First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "b.test", Exact = true })).ToHaveCountAsync(0);
        await ShotAsync(page, "audit");
        await web.Admin.SetCatchAllAsync(Actor.System, "a.test", Core.Accounts.CatchAll.Bounce);
    }

    [FactWhenInstalled(Chromium, "chromium")]
    public async Task A_postmaster_opens_a_user_and_sets_a_flag_and_a_forward()
    {
        await web.Admin.AddUserAsync(Actor.System, "frank@a.test", new PasswordInput.Clear("Frank-secret-1"), "Frank");
        var (playwright, browser, page, _) = await OpenAsync();
        using var _p = playwright;
        await using var _b = browser;
        await LogInAsync(page, WebServer.Postmaster, WebServer.Password);
        await page.GotoAsync(Base + "/domains/a.test?q=frank");
        await page.GetByRole(AriaRole.Link, new() { Name = "frank@a.test" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "frank@a.test" })).ToBeVisibleAsync();
        // The system's flags have no box here.
        await Assertions.Expect(page.GetByLabel("system-admin")).ToHaveCountAsync(0);
        await page.GetByLabel("no-imap").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save flags" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("flags of frank@a.test: no-imap");
        await page.GetByLabel("Forward to").FillAsync("frank@elsewhere.test");
        await page.GetByLabel("Keep a copy in the mailbox").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save forward" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("frank@a.test is forwarded to frank@elsewhere.test and a copy kept");
        await Assertions.Expect(page.GetByLabel("no-imap")).ToBeCheckedAsync();
        await ShotAsync(page, "user");
        Assert.Equal(Core.Accounts.UserFlags.NoImap, web.Store.FindUser("frank", "a.test")!.Flags);
        var f = await web.Admin.GetForwardAsync(Actor.System, "frank@a.test");
        Assert.Equal(["frank@elsewhere.test"], f.Targets);
        Assert.True(f.KeepCopy);
    }

    private static IFormData MakeForm(IPage page, string token)
    {
        var form = page.APIRequest.CreateFormData();
        form.Set("_csrf", token);
        form.Set("max-users", "100000");
        form.Set("quota", "10G");
        return form;
    }

    [FactWhenInstalled(Chromium, "chromium")]
    public async Task A_user_forwards_its_mail_keeping_a_copy_and_a_system_admin_sees_relay_rules_and_the_queue()
    {
        await web.Admin.AddUserAsync(Actor.System, "erin@a.test", new PasswordInput.Clear("Erin-secret-1"));
        var (playwright, browser, page, _) = await OpenAsync();
        using var _p = playwright;
        await using var _b = browser;
        await LogInAsync(page, "erin@a.test", "Erin-secret-1");
        await page.GetByRole(AriaRole.Link, new() { Name = "Forward" }).ClickAsync();
        await page.GetByLabel("Forward to").FillAsync("erin@elsewhere.test");
        await page.GetByLabel("Keep a copy in my mailbox").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Save forward" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("mail is forwarded to erin@elsewhere.test and a copy kept here");
        await ShotAsync(page, "forward");
        var f = await web.Admin.GetForwardAsync(Actor.System, "erin@a.test");
        Assert.Equal(["erin@elsewhere.test"], f.Targets);
        Assert.True(f.KeepCopy);

        await page.GetByRole(AriaRole.Button, new() { Name = "Log out" }).ClickAsync();
        await LogInAsync(page, WebServer.SystemAdmin, WebServer.Password);
        await page.GetByRole(AriaRole.Link, new() { Name = "Relay rules" }).ClickAsync();
        await page.GetByLabel("Address or network").FillAsync("198.51.100.0/24");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save relay rule" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "198.51.100.0/24" })).ToBeVisibleAsync();
        await ShotAsync(page, "relay");
        await page.GetByRole(AriaRole.Link, new() { Name = "Queue" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Retry all now" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("scheduled for delivery now");
        await ShotAsync(page, "queue");
    }
}
