// The mailing-list pages in a real browser (Debian's Chromium driven by Microsoft.Playwright against
// the real server, no JavaScript on the pages): a postmaster makes a list from its domain's page,
// sets a trailer holding a <script> (stored as typed, shown as text, never run), and subscribes an
// address from the subscribers page. Skipped, saying so, without Chromium.
using System.Text.RegularExpressions;
using Mailward.Core.Lists;
using Mailward.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Mailward.Tests.Web;

public sealed class WebListBrowserTests(WebServer web) : IClassFixture<WebServer>
{
    private const string Chromium = "/usr/bin/chromium";

    private string Base => $"http://{web.Server.Admin}";

    private ListAdmin Lists() => new(web.Store,
        new Core.MailStore.MailStoreLayout(web.Server.Services.GetRequiredService<Core.Configuration.MailwardSettings>().MailStorePath), ListOptions.Default);

    [FactWhenInstalled(Chromium, "chromium")]
    public async Task A_postmaster_makes_a_list_and_subscribes_an_address_and_a_script_in_the_trailer_stays_text()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Args = ["--no-sandbox"], Headless = true });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(15_000);
        var dialogs = new List<string>();
        page.Dialog += (_, d) =>
        {
            dialogs.Add(d.Message);
            _ = d.DismissAsync();
        };
        await page.GotoAsync(Base + "/login");
        await page.GetByLabel("Address").FillAsync(WebServer.Postmaster);
        await page.GetByLabel("Password").FillAsync(WebServer.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        // An assertion that retries, not WaitForURL (which waits for a load state: it timed out on busy cores).
        await Assertions.Expect(page).Not.ToHaveURLAsync(new Regex("/login$"));

        await page.GetByRole(AriaRole.Link, new() { Name = "a.test" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Mailing lists" }).ClickAsync();
        await page.GetByLabel("Address (before @a.test)").FillAsync("club");
        await page.GetByLabel("Display name").FillAsync("The Club");
        await page.GetByLabel("Who may post").SelectOptionAsync("subscribers");
        await page.GetByRole(AriaRole.Button, new() { Name = "Make list" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("list club@a.test made");
        Assert.Equal(PostingPolicy.Subscribers, Lists().Info("club@a.test").Config.Policy);

        const string Script = "<script>alert('xss')</script><img src=x onerror=alert(2)>";
        await page.GetByRole(AriaRole.Link, new() { Name = "club@a.test" }).ClickAsync();
        await page.GetByLabel("Trailer").FillAsync(Script);
        await page.GetByRole(AriaRole.Button, new() { Name = "Save settings" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("settings of club@a.test saved");
        Assert.Equal(Script, Lists().Info("club@a.test").Config.Trailer); // stored as typed
        await Assertions.Expect(page.GetByLabel("Trailer")).ToHaveValueAsync(Script); // shown as text
        Assert.Equal(0, await page.Locator("script").CountAsync());
        Assert.Equal(0, await page.Locator("img").CountAsync());
        Assert.Equal(PostingPolicy.Subscribers, Lists().Info("club@a.test").Config.Policy); // the form kept what it showed

        await page.GetByRole(AriaRole.Link, new() { Name = "subscribers" }).First.ClickAsync();
        await page.GetByLabel("Addresses").FillAsync("sue@remote.test");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("1 added to the subscribers of club@a.test");
        await Assertions.Expect(page.GetByRole(AriaRole.Cell, new() { Name = "sue@remote.test" })).ToBeVisibleAsync();
        Assert.Equal(["sue@remote.test"], Lists().Members("club@a.test", MemberSet.Subscribers));
        Assert.Empty(dialogs);
    }
}
