// One-click unsubscribe over real sockets (docs/lists.md, "One-click unsubscribe"; RFC 8058): a post
// over SMTP reaches each subscriber (local and remote) with its own https: URL in List-Unsubscribe
// and List-Unsubscribe-Post; a POST of List-Unsubscribe=One-Click over HTTP to the running server's
// admin listener removes exactly that subscriber; a token altered, moved to another subscriber or
// to another list does nothing; GET changes nothing and shows a form whose button (in Chromium) does;
// a remote copy is DKIM-signed over its own fields; a digest carries each digest subscriber's own
// link, which leaves the digest and not the list.
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using MimeKit;
using static Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public partial class ListOneClickTests
{
    private const string BaseUrl = "https://lists.hosted.test";

    private static async Task<ServerFixture> WithListAsync(TestMta sink)
    {
        var server = await ServerFixture.StartAsync(Users, "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}",
            $"--Lists:UnsubscribeBaseUrl={BaseUrl}/");
        await CliAsync(server, "list", "add", "team@hosted.test", "--name", "Team");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test", "amy@hosted.test", "rob@remote.test");
        return server;
    }

    /// <summary>The https: URL of a copy's List-Unsubscribe, after checking the field's form.</summary>
    private static Uri OneClickUrl(MimeMessage copy)
    {
        var field = copy.Headers["List-Unsubscribe"];
        Assert.NotNull(field);
        var m = UnsubscribeField().Match(field.Replace("\r\n", "", StringComparison.Ordinal));
        Assert.True(m.Success, "List-Unsubscribe: " + field);
        Assert.Equal("List-Unsubscribe=One-Click", copy.Headers["List-Unsubscribe-Post"]);
        Assert.Single(copy.Headers, h => h.Field == "List-Unsubscribe"); // one field with both URLs, never a second
        return new Uri(m.Groups[1].Value);
    }

    /// <summary>The URL's path and query sent to the admin listener (the base URL names the public host, as a proxy's would).</summary>
    private static string Local(Uri url) => url.PathAndQuery;

    private static HttpClient Http(ServerFixture server) =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://{server.Admin}") };

    /// <summary>What a mail client's one-click does (RFC 8058 §3.2): POST the body, no cookies.</summary>
    private static Task<HttpResponseMessage> OneClickAsync(HttpClient http, string path, string body = "List-Unsubscribe=One-Click") =>
        http.PostAsync(path, new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded"));

    private static string WithQuery(Uri url, string key, string value)
    {
        var parts = url.Query.TrimStart('?').Split('&').Select(p => p.StartsWith(key + "=", StringComparison.Ordinal) ? $"{key}={value}" : p);
        return url.AbsolutePath + "?" + string.Join("&", parts);
    }

    [Fact]
    public async Task Each_copy_carries_its_own_link_and_a_post_to_it_unsubscribes_only_that_subscriber()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink);
        await CliAsync(server, "list", "add", "other@hosted.test");
        await CliAsync(server, "list", "subscribe", "other@hosted.test", "joe@hosted.test", "amy@hosted.test");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "plans");
        await sink.WaitForAsync(1);
        await SettleAsync(server);

        var joe = OneClickUrl(Assert.Single(Mail(server, "joe@hosted.test")));
        var amy = OneClickUrl(Assert.Single(Mail(server, "amy@hosted.test")));
        var rob = OneClickUrl(Parse(Assert.Single(sink.Received))); // the remote copy: made at remote delivery, before DKIM would sign
        Assert.StartsWith("<mailto:team-unsubscribe@hosted.test>,", Mail(server, "joe@hosted.test")[0].Headers["List-Unsubscribe"], StringComparison.Ordinal);
        foreach (var (url, who) in new[] { (joe, "joe%40hosted.test"), (amy, "amy%40hosted.test"), (rob, "rob%40remote.test") })
        {
            Assert.Equal("https", url.Scheme);
            Assert.Equal("lists.hosted.test", url.Host);
            Assert.Equal("/lists/unsubscribe", url.AbsolutePath);
            Assert.Contains("list=team%40hosted.test", url.Query, StringComparison.Ordinal);
            Assert.Contains("address=" + who, url.Query, StringComparison.Ordinal);
        }
        Assert.Equal(3, new[] { joe, amy, rob }.Select(u => Token(u)).Distinct().Count());

        using var http = Http(server);
        // Joe's token does not hold for Amy, an altered token holds for nobody, and a list's token is no other list's.
        var forged = new[]
        {
            WithQuery(joe, "address", "amy%40hosted.test"),
            WithQuery(amy, "token", Flip(Token(amy))),
            WithQuery(amy, "list", "other%40hosted.test"),
            WithQuery(amy, "token", new string('0', 32)),
        };
        foreach (var path in forged)
        {
            using var r = await OneClickAsync(http, path);
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
            var text = await r.Content.ReadAsStringAsync();
            Assert.Contains("not valid", text, StringComparison.Ordinal);
            Assert.DoesNotContain("amy@", text, StringComparison.Ordinal); // nothing about the address
        }
        // A token for an address that is not subscribed gets the same answer as one for a list that does not exist.
        using (var r = await OneClickAsync(http, WithQuery(amy, "list", "nolist%40hosted.test")))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await OneClickAsync(http, WithQuery(amy, "token", "short")))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        // The right token without the one-click body changes nothing either.
        using (var r = await OneClickAsync(http, Local(amy), "List-Unsubscribe=Yes"))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal(["amy@hosted.test", "joe@hosted.test", "rob@remote.test"], await SubscribersAsync(server));
        Assert.Equal(["amy@hosted.test", "joe@hosted.test"], await SubscribersAsync(server, "other@hosted.test"));
        Assert.Equal(5, Lines(server, "list one-click refused ").Count());

        // Amy's own link, POSTed as a mail client does: she alone leaves team@ (not other@).
        using (var r = await OneClickAsync(http, Local(amy)))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Contains("amy@hosted.test gets no more posts of team@hosted.test", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(["joe@hosted.test", "rob@remote.test"], await SubscribersAsync(server));
        Assert.Equal(["amy@hosted.test", "joe@hosted.test"], await SubscribersAsync(server, "other@hosted.test"));
        Assert.Single(Lines(server, "list one-click unsubscribed "), l => l.Contains("list=<team@hosted.test> address=<amy@hosted.test>", StringComparison.Ordinal)
            && l.EndsWith("was=True", StringComparison.Ordinal));
        // A second click (a client retrying) answers the same and changes nothing.
        using (var r = await OneClickAsync(http, Local(amy)))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(["joe@hosted.test", "rob@remote.test"], await SubscribersAsync(server));

        // The next post reaches Joe and Rob, not Amy.
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "more plans");
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        Assert.Equal(2, Mail(server, "joe@hosted.test").Count);
        Assert.Single(Mail(server, "amy@hosted.test"));
        Assert.Equal(joe, OneClickUrl(Mail(server, "joe@hosted.test")[1])); // the same link every time: the token has no time in it
    }

    [Fact]
    public async Task Get_shows_a_form_and_unsubscribes_nobody_and_a_session_cookie_changes_nothing()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink);
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "plans");
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        var joe = OneClickUrl(Assert.Single(Mail(server, "joe@hosted.test")));

        using var http = Http(server);
        using (var r = await http.GetAsync(Local(joe)))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var page = await r.Content.ReadAsStringAsync();
            Assert.Contains("<form method=\"post\"", page, StringComparison.Ordinal);
            Assert.Contains("name=\"List-Unsubscribe\" value=\"One-Click\"", page, StringComparison.Ordinal);
            Assert.Contains("<button type=\"submit\">Unsubscribe</button>", page, StringComparison.Ordinal);
            Assert.Contains("joe@hosted.test", page, StringComparison.Ordinal);
            Assert.DoesNotContain("<script", page, StringComparison.OrdinalIgnoreCase);
        }
        using (var r = await http.GetAsync(WithQuery(joe, "token", Flip(Token(joe)))))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal(["amy@hosted.test", "joe@hosted.test", "rob@remote.test"], await SubscribersAsync(server));

        // A browser that is logged in to the admin pages sends its session cookie along: no anti-forgery token is asked, nothing else changes.
        using var browser = new Web.WebClient(server.Admin);
        await server.Services.GetRequiredService<Core.Admin.AccountAdmin>().SetPasswordAsync(Core.Admin.Actor.System, "joe@hosted.test",
            new Core.Admin.PasswordInput.Clear("Sesame-42"));
        await browser.LoginOkAsync("joe@hosted.test", "Sesame-42");
        using (var r = await browser.PostFormAsync(Local(joe), new Dictionary<string, string> { ["List-Unsubscribe"] = "One-Click" }, withToken: false))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(["amy@hosted.test", "rob@remote.test"], await SubscribersAsync(server));
    }

    [Fact]
    public async Task A_remote_copy_is_dkim_signed_over_its_own_one_click_fields()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink);
        await CliAsync(server, "list", "set", "team@hosted.test", "--from-rewrite", "always"); // From: team@hosted.test, whose key signs
        var key = Core.Dkim.DkimKeyStore.Generate("hosted.test", "s1", 2048, DateTimeOffset.UtcNow);
        var keys = new Core.Dkim.DkimKeyStore(server.DataPath);
        keys.Save(key);
        keys.Activate(key.Domain, key.Selector);
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "signed plans");
        await sink.WaitForAsync(1);
        await SettleAsync(server);

        var signed = Assert.Single(sink.Received).Data;
        var text = Encoding.ASCII.GetString(signed);
        Assert.StartsWith("DKIM-Signature: ", text, StringComparison.Ordinal);
        var h = text.Split("h=")[1].Split(';')[0].Replace("\r\n\t", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant().Split(':');
        Assert.Contains("list-unsubscribe", h);
        Assert.Contains("list-unsubscribe-post", h);
        Assert.Contains("token=", OneClickUrl(Parse(sink.Received.Single())).Query, StringComparison.Ordinal);

        // The key's record from a DNS server on loopback: the signature holds, and fails once the token is changed.
        await using var dns = new DnsTestServer();
        dns.Add("s1._domainkey.hosted.test", "TXT", key.Record);
        var verifier = new Core.Dkim.DkimMessageVerifier(new Core.Dkim.DkimKeyLocator(new Core.PolicyDns.PolicyDnsResolver(
            new Core.PolicyDns.PolicyDnsOptions([dns.Endpoint], TimeSpan.FromSeconds(2), 0, 100, TimeSpan.FromHours(1)))), Core.Dkim.DkimOptions.Default);
        var result = Assert.Single(await verifier.VerifyAsync(new MemoryStream(signed)));
        Assert.Equal((Core.Dkim.DkimStatus.Pass, "hosted.test"), (result.Status, result.Domain));
        var token = Token(OneClickUrl(Parse(sink.Received.Single())));
        var altered = Encoding.ASCII.GetBytes(text.Replace("token=" + token, "token=" + Flip(token), StringComparison.Ordinal));
        Assert.NotEqual(Core.Dkim.DkimStatus.Pass, Assert.Single(await verifier.VerifyAsync(new MemoryStream(altered))).Status);
    }

    [FactWhenInstalled("/usr/bin/chromium", "chromium")]
    public async Task In_a_browser_the_page_s_button_unsubscribes()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink);
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "plans");
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        var amy = OneClickUrl(Assert.Single(Mail(server, "amy@hosted.test")));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = "/usr/bin/chromium", Args = ["--no-sandbox"], Headless = true });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { JavaScriptEnabled = false });
        page.SetDefaultTimeout(15_000);
        await page.GotoAsync($"http://{server.Admin}{Local(amy)}");
        Assert.Equal(["amy@hosted.test", "joe@hosted.test", "rob@remote.test"], await SubscribersAsync(server)); // opening the link did nothing
        await page.GetByRole(AriaRole.Button, new() { Name = "Unsubscribe" }).ClickAsync();
        await page.GetByText("amy@hosted.test gets no more posts of team@hosted.test").WaitForAsync();
        Assert.Equal(["joe@hosted.test", "rob@remote.test"], await SubscribersAsync(server));
    }

    [Fact]
    public async Task Each_digest_carries_its_own_link_which_leaves_the_digest_only()
    {
        await using var sink = new TestMta();
        await using var server = await ServerFixture.StartAsync(Users, "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}",
            $"--Lists:UnsubscribeBaseUrl={BaseUrl}", "--Lists:DigestPosts=1");
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "amy@hosted.test");
        await CliAsync(server, "list", "digest", "team@hosted.test", "add", "amy@hosted.test", "rob@remote.test");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "plans");
        await sink.WaitForAsync(1);
        await SettleAsync(server);

        var amyMail = Mail(server, "amy@hosted.test");
        Assert.Equal(2, amyMail.Count); // the post's copy and the digest
        var amyCopy = OneClickUrl(Assert.Single(amyMail, m => !m.Headers.Contains("X-Mailward-List-Digest")));
        var amyDigest = DigestUrl(Assert.Single(amyMail, m => m.Headers.Contains("X-Mailward-List-Digest")));
        var robMail = Assert.Single(sink.Received);
        Assert.Equal("team-return-digest-@hosted.test", robMail.Sender);
        var robDigest = DigestUrl(Parse(robMail)); // made at remote delivery, as a copy's
        Assert.Contains("address=rob%40remote.test", robDigest.Query, StringComparison.Ordinal);
        Assert.Contains("address=amy%40hosted.test", amyDigest.Query, StringComparison.Ordinal);
        Assert.EndsWith("&digest=1", amyDigest.Query, StringComparison.Ordinal);
        Assert.Equal(3, new[] { amyCopy, amyDigest, robDigest }.Select(u => Token(u)).Distinct().Count());

        using var http = Http(server);
        // A copy's token does not leave the digest, nor a digest's token the list; digest= is 1 or absent.
        foreach (var path in new[] { Local(amyCopy) + "&digest=1", Local(amyDigest).Replace("&digest=1", "", StringComparison.Ordinal) })
        {
            using var r = await OneClickAsync(http, path);
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        }
        using (var r = await OneClickAsync(http, Local(amyDigest).Replace("&digest=1", "&digest=yes", StringComparison.Ordinal)))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal(["amy@hosted.test", "rob@remote.test"], Members(await CliAsync(server, "list", "digest", "team@hosted.test")));

        using (var r = await OneClickAsync(http, Local(amyDigest)))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Contains("amy@hosted.test gets no more digests of team@hosted.test", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(["rob@remote.test"], Members(await CliAsync(server, "list", "digest", "team@hosted.test")));
        Assert.Equal(["amy@hosted.test"], await SubscribersAsync(server)); // still gets each post
        Assert.Single(Lines(server, "list one-click unsubscribed "), l => l.Contains("address=<amy@hosted.test>", StringComparison.Ordinal)
            && l.EndsWith("set=digest was=True", StringComparison.Ordinal));
    }

    private static string[] Members(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The https: URL of a digest's List-Unsubscribe (the digest's mailto: first), after checking the field's form.</summary>
    private static Uri DigestUrl(MimeMessage digest)
    {
        var field = digest.Headers["List-Unsubscribe"];
        Assert.NotNull(field);
        var m = DigestUnsubscribeField().Match(field.Replace("\r\n", "", StringComparison.Ordinal));
        Assert.True(m.Success, "List-Unsubscribe: " + field);
        Assert.Equal("List-Unsubscribe=One-Click", digest.Headers["List-Unsubscribe-Post"]);
        Assert.Single(digest.Headers, h => h.Field == "List-Unsubscribe");
        return new Uri(m.Groups[1].Value);
    }

    private static string Token(Uri url) => url.Query.TrimStart('?').Split('&').Single(p => p.StartsWith("token=", StringComparison.Ordinal))[6..];

    /// <summary>The token with its first hex digit changed.</summary>
    private static string Flip(string token) => (token[0] == 'a' ? 'b' : 'a') + token[1..];

    [GeneratedRegex(@"^<mailto:team-unsubscribe@hosted\.test>,\s*<(https://[^>]+)>$")]
    private static partial Regex UnsubscribeField();

    [GeneratedRegex(@"^<mailto:team-digest-unsubscribe@hosted\.test>,\s*<(https://[^>]+)>$")]
    private static partial Regex DigestUnsubscribeField();
}
