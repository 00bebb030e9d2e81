// The API's grants of domains (GET/POST /api/v1/admins, DELETE /api/v1/admins/{address}/{domain})
// against the real server: a system admin's grant opens the domain's page to the account as its
// admin and its revoke closes it again; a domain admin's grant, even to itself, is refused and
// changes nothing.
using System.Net;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;

namespace Mailward.Tests.Web;

public sealed class WebAdminGrantApiTests(WebServer web) : IClassFixture<WebServer>
{
    [Fact]
    public async Task A_grant_through_the_api_opens_the_domain_to_the_account_and_a_revoke_closes_it()
    {
        await web.Admin.AddUserAsync(Actor.System, "grantee@a.test", new PasswordInput.Clear(WebServer.Password));
        using var grantee = await web.LoggedInAsync("grantee@a.test");
        using (var before = await grantee.GetAsync("/domains/c.test"))
            Assert.Equal(HttpStatusCode.Forbidden, before.StatusCode);

        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        using (var granted = await sa.SendJsonAsync(HttpMethod.Post, "/api/v1/admins", new { address = "Grantee@A.test", domain = "C.TEST" }))
        {
            Assert.Equal(HttpStatusCode.Created, granted.StatusCode);
            using var body = JsonDocument.Parse(await granted.Content.ReadAsStringAsync());
            Assert.Equal("grantee@a.test", body.RootElement.GetProperty("address").GetString());
            Assert.Equal("c.test", body.RootElement.GetProperty("domain").GetString());
            Assert.True(body.RootElement.GetProperty("added").GetBoolean());
        }
        // The same grant again: still 201, not new.
        using (var again = await sa.SendJsonAsync(HttpMethod.Post, "/api/v1/admins", new { address = "grantee@a.test", domain = "c.test" }))
        {
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
            Assert.Contains("\"added\":false", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        var list = await sa.GetJsonAsync("/api/v1/admins");
        Assert.Contains(list.EnumerateArray(), g => g.GetProperty("address").GetString() == "grantee@a.test" && g.GetProperty("domain").GetString() == "c.test");

        // The same session: the account's rights are read afresh on each request.
        using (var page = await grantee.GetAsync("/domains/c.test"))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains(WebServer.SecondUser[..WebServer.SecondUser.IndexOf('@')], await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var revoked = await sa.SendJsonAsync(HttpMethod.Delete, "/api/v1/admins/grantee@a.test/c.test"))
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        Assert.DoesNotContain(new AdminGrant("grantee@a.test", "c.test"), web.Store.ListAllAdminGrants());
        using (var after = await grantee.GetAsync("/domains/c.test"))
            Assert.Equal(HttpStatusCode.Forbidden, after.StatusCode);
    }

    [Fact]
    public async Task A_domain_admin_grants_nothing_not_even_itself_another_domain()
    {
        var before = web.Store.ListAllAdminGrants();
        using var da = await web.LoggedInAsync(WebServer.Postmaster);
        foreach (var (address, domain) in new[] { (WebServer.Postmaster, "b.test"), (WebServer.User, "a.test") })
        {
            using var r = await da.SendJsonAsync(HttpMethod.Post, "/api/v1/admins", new { address, domain });
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            using var problem = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            Assert.Equal(AccountErrorTable.For(AccountError.Forbidden).ProblemName, problem.RootElement.GetProperty("error").GetString());
        }
        Assert.Equal(before, web.Store.ListAllAdminGrants());
        using (var page = await da.GetAsync("/domains/b.test"))
            Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        // Nor takes one away (multi@admin.test's grant of a.test, made by the fixture), nor reads the list.
        using (var revoke = await da.SendJsonAsync(HttpMethod.Delete, "/api/v1/admins/multi@admin.test/a.test"))
            Assert.Equal(HttpStatusCode.Forbidden, revoke.StatusCode);
        Assert.Equal(before, web.Store.ListAllAdminGrants());
        using (var list = await da.GetAsync("/api/v1/admins"))
            Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
    }
}
