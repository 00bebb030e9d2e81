// API keys against the real server: a key reaches the API within its scope, is refused the moment it
// is revoked or once it expires, never falls back to a session, is stored only as a hash, makes no
// keys, and never logs in to IMAP, POP3 or SMTP (it is no password of any account).
using System.Net;
using System.Text;
using System.Text.Json;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Tests.Web;

public sealed class WebApiKeyTests(WebServer web) : IClassFixture<WebServer>
{
    [Fact]
    public async Task A_key_reaches_its_domain_and_is_refused_at_once_when_revoked()
    {
        var made = await web.Admin.AddApiKeyAsync(Actor.System, "revoke-me", ["a.test"], readOnly: false);
        using var client = web.KeyClient(made.Token);
        using (var r = await client.GetAsync("/api/v1/domains/a.test"))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var me = await client.GetJsonAsync("/api/v1/me");
        Assert.Equal("revoke-me", me.GetProperty("address").GetString());
        Assert.Equal("api-key", me.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, me.GetProperty("csrfToken").ValueKind);

        await web.Admin.RevokeApiKeyAsync(Actor.System, "revoke-me");
        using var after = await client.GetAsync("/api/v1/domains/a.test");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("invalid_token", after.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains(web.Server.Log, l => l.Contains("API key refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_key_is_401_even_with_a_session_cookie_and_a_key_opens_no_page()
    {
        using var client = await web.LoggedInAsync(WebServer.SystemAdmin);
        var good = web.KeyA;
        // The same id with another secret, an unknown id, and no key form at all.
        foreach (var bad in new[] { good[..^4] + "AAAA", "mwk_0000000000000000_" + new string('A', 43), "Sesame-42" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/domains");
            client.DefaultHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bad);
            using var r = await client.GetAsync("/api/v1/domains");
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }
        using var keyOnly = web.KeyClient(good);
        using var page = await keyOnly.GetAsync("/domains");
        Assert.Equal(HttpStatusCode.Found, page.StatusCode);
    }

    [Fact]
    public async Task Only_a_hash_of_the_key_is_stored_and_the_token_is_shown_once()
    {
        var made = await web.Admin.AddApiKeyAsync(Actor.System, "hashed", null, readOnly: true);
        var secret = ApiKeyToken.Parse(made.Token)!.Value.Secret;
        var stored = web.Store.ListApiKeys().Single(k => k.Name == "hashed");
        Assert.StartsWith("sha256:", stored.SecretHash, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, stored.SecretHash, StringComparison.Ordinal);
        foreach (var file in Directory.GetFiles(web.Server.DataPath, "accounts.db*"))
        {
            using var f = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(f, Encoding.Latin1);
            Assert.DoesNotContain(secret, await reader.ReadToEndAsync(), StringComparison.Ordinal);
        }
        // The list (command line and API) carries no token.
        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        using var list = await sa.GetAsync("/api/v1/keys");
        var text = await list.Content.ReadAsStringAsync();
        Assert.Contains("\"hashed\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        Assert.DoesNotContain("sha256", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_made_through_the_api_works_and_a_body_claiming_more_is_refused()
    {
        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        using var bad = await sa.SendJsonAsync(HttpMethod.Post, "/api/v1/keys", """{"name":"sneaky","domains":["a.test"],"systemScope":true}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.DoesNotContain(web.Store.ListApiKeys(), k => k.Name == "sneaky");

        using var r = await sa.SendJsonAsync(HttpMethod.Post, "/api/v1/keys", new { name = "made-by-api", domains = new[] { "a.test" }, days = 7 });
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        var json = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        var token = json.GetProperty("token").GetString()!;
        Assert.Equal("active", json.GetProperty("key").GetProperty("state").GetString());
        using var key = web.KeyClient(token);
        using (var own = await key.GetAsync("/api/v1/domains/a.test/users"))
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        using (var other = await key.GetAsync("/api/v1/domains/b.test/users"))
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);

        // Longer than Admin:ApiKeyMaxDays: refused, nothing made.
        using var tooLong = await sa.SendJsonAsync(HttpMethod.Post, "/api/v1/keys", new { name = "forever", days = 10_000 });
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.DoesNotContain(web.Store.ListApiKeys(), k => k.Name == "forever");
    }

    private static readonly IPEndPoint Guesser = new(IPAddress.Parse("127.0.0.61"), 0);

    [Fact]
    public async Task A_key_never_logs_in_to_imap_pop3_or_smtp()
    {
        var made = await web.Admin.AddApiKeyAsync(Actor.System, "mail-login", null, readOnly: false);
        // As the key's name, as the account that made it, as a postmaster: the token is nobody's password.
        foreach (var login in new[] { "mail-login", "mail-login@a.test", WebServer.Postmaster })
        {
            // From an address of their own: these failures count against it (the shared throttle), not against the other tests' 127.0.0.1.
            using (var imap = new ImapClient { Timeout = 15_000, LocalEndPoint = Guesser })
            {
                await imap.ConnectAsync("127.0.0.1", web.Server.Imap.Port, SecureSocketOptions.None);
                await Assert.ThrowsAsync<AuthenticationException>(() => imap.AuthenticateAsync(login, made.Token));
            }
            using (var pop = new Pop3Client { Timeout = 15_000, LocalEndPoint = Guesser })
            {
                await pop.ConnectAsync("127.0.0.1", web.Server.Pop3.Port, SecureSocketOptions.None);
                await Assert.ThrowsAsync<AuthenticationException>(() => pop.AuthenticateAsync(login, made.Token));
            }
            using (var smtp = new SmtpClient { Timeout = 15_000, LocalEndPoint = Guesser, ServerCertificateValidationCallback = (_, cert, _, _) => cert is not null /* the test server's self-signed one */ })
            {
                await smtp.ConnectAsync("127.0.0.1", web.Server.Submission.Port, SecureSocketOptions.StartTlsWhenAvailable);
                await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync(login, made.Token));
            }
        }
        // The same clients get in with a password: the refusals above were about the key.
        using var ok = new ImapClient { Timeout = 15_000 };
        await ok.ConnectAsync("127.0.0.1", web.Server.Imap.Port, SecureSocketOptions.None);
        await ok.AuthenticateAsync(WebServer.OtherUser, WebServer.Password);
    }

    [Fact]
    public async Task An_expired_key_is_refused()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await WebServer.StartAsync(time);
        var admin = server.Services.GetRequiredService<AccountAdmin>();
        var made = await admin.AddApiKeyAsync(Actor.System, "short", ["a.test"], readOnly: true, TimeSpan.FromDays(1));
        using var client = new WebClient(server.Admin);
        client.DefaultHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", made.Token);
        using (var r = await client.GetAsync("/api/v1/domains"))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));
        using (var r = await client.GetAsync("/api/v1/domains"))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("expired", (await admin.ListApiKeysAsync(Actor.System)).Single().State(time.GetUtcNow()));
    }

    [Fact]
    public async Task A_key_scoped_to_a_deleted_domain_reaches_nothing_when_the_name_comes_back()
    {
        var admin = web.Admin;
        await admin.AddDomainAsync(Actor.System, "gone.test", new PasswordInput.Clear(WebServer.Password));
        var made = await admin.AddApiKeyAsync(Actor.System, "gone-key", ["gone.test"], readOnly: false);
        await admin.DeleteDomainAsync(Actor.System, "gone.test");
        await admin.AddDomainAsync(Actor.System, "gone.test", new PasswordInput.Clear(WebServer.Password));
        using var client = web.KeyClient(made.Token);
        using var r = await client.GetAsync("/api/v1/domains/gone.test");
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Empty(web.Store.ListApiKeys().Single(k => k.Name == "gone-key").Domains!);
    }
}
