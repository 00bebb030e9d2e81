// The API keys page against the real server: a key made there works on the API, its token is on
// the answer to the POST and nowhere after (not the list, not the store), and revoking it there
// refuses it at once; a domain admin reaches none of it.
using System.Net;
using System.Text.RegularExpressions;

namespace Mailward.Tests.Web;

public sealed partial class WebKeyPageTests(WebServer web) : IClassFixture<WebServer>
{
    [Fact]
    public async Task A_key_made_on_the_page_shows_its_token_once_and_revoking_it_there_refuses_it()
    {
        using var c = await web.LoggedInAsync(WebServer.SystemAdmin);
        using var made = await c.PostFormAsync("/keys", new Dictionary<string, string> { ["name"] = "page-key", ["domains"] = "a.test, c.test", ["read-only"] = "yes", ["days"] = "30" });
        Assert.Equal(HttpStatusCode.OK, made.StatusCode);
        Assert.Contains("no-store", made.Headers.CacheControl?.ToString() ?? "", StringComparison.Ordinal);
        var token = Token().Match(await made.Content.ReadAsStringAsync()).Groups[1].Value;
        Assert.NotEmpty(token);

        // The token works on the API, within its scope and read-only.
        using (var key = web.KeyClient(token))
        {
            var me = await key.GetJsonAsync("/api/v1/me");
            Assert.Equal("page-key", me.GetProperty("address").GetString());
            using var other = await key.GetAsync("/api/v1/domains/b.test");
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        }

        // Shown once: the list has the key, never its token, nor does the store.
        var list = await c.GetStringAsync("/keys");
        Assert.Contains("<td>page-key</td><td>a.test,c.test</td><td>read-only</td>", list, StringComparison.Ordinal);
        Assert.DoesNotContain(token, list, StringComparison.Ordinal);
        var stored = web.Store.ListApiKeys().Single(k => k.Name == "page-key");
        var secret = token[$"mwk_{stored.Id}_".Length..];
        Assert.StartsWith($"mwk_{stored.Id}_", token, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, stored.SecretHash, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromDays(30), stored.ExpiresAt - stored.CreatedAt);

        using (var revoke = await c.PostFormAsync("/keys/page-key/revoke"))
            Assert.Equal(HttpStatusCode.SeeOther, revoke.StatusCode);
        Assert.Contains("key page-key revoked", await c.GetStringAsync("/keys"), StringComparison.Ordinal);
        using (var key = web.KeyClient(token))
        using (var refused = await key.GetAsync("/api/v1/me"))
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.NotNull(web.Store.ListApiKeys().Single(k => k.Name == "page-key").RevokedAt);
    }

    [Fact]
    public async Task A_bad_key_is_the_pages_message_and_a_domain_admin_makes_none()
    {
        using var c = await web.LoggedInAsync(WebServer.SystemAdmin);
        using (var r = await c.PostFormAsync("/keys", new Dictionary<string, string> { ["name"] = "bad name!" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Contains("a key&#x27;s name is 1 to 64", await c.GetStringAsync("/keys"), StringComparison.Ordinal);
        using (var r = await c.PostFormAsync("/keys", new Dictionary<string, string> { ["name"] = "long-key", ["days"] = "100000" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.DoesNotContain(web.Store.ListApiKeys(), k => k.Name is "bad name!" or "long-key");

        using var da = await web.LoggedInAsync(WebServer.Postmaster);
        using (var r = await da.PostFormAsync("/keys", new Dictionary<string, string> { ["name"] = "da-key", ["domains"] = "a.test" }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.DoesNotContain(web.Store.ListApiKeys(), k => k.Name == "da-key");
        Assert.DoesNotContain("href=\"/keys\"", await da.GetStringAsync("/domains"), StringComparison.Ordinal);
    }

    [GeneratedRegex("<code id=\"key-token\">([^<]+)</code>")]
    private static partial Regex Token();
}
