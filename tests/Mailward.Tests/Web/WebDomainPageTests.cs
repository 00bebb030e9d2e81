// The domain page's user count (the count the store keeps with each add and delete, not a COUNT
// per load) through the real server: users added and deleted on the page, over the API and by the
// command's AccountAdmin all move it, refused adds do not; and the users list pages by cursor.
using System.Net;
using System.Text.RegularExpressions;
using Mailward.Core.Admin;

namespace Mailward.Tests.Web;

public sealed partial class WebDomainPageTests(WebServer web) : IClassFixture<WebServer>
{
    [GeneratedRegex(@"<dt>Users</dt><dd>(\d+) \(at most")]
    private static partial Regex UsersFact();

    private static async Task<int> ShownUsersAsync(WebClient client, string domain)
    {
        var m = UsersFact().Match(await client.GetStringAsync($"/domains/{domain}"));
        Assert.True(m.Success, "the domain page names its users");
        return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Dictionary<string, string> NewUser(string local) =>
        new() { ["local"] = local, ["password"] = WebServer.Password };

    [Fact]
    public async Task The_user_count_follows_adds_and_deletes_from_every_face()
    {
        using var admin = await web.LoggedInAsync(WebServer.SystemAdmin);
        using (var r = await admin.PostFormAsync("/domains", new Dictionary<string, string> { ["name"] = "count.test", ["password"] = WebServer.Password }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Equal(1, await ShownUsersAsync(admin, "count.test")); // the postmaster

        foreach (var local in new[] { "ann", "bob", "cy" })
            using (var r = await admin.PostFormAsync("/domains/count.test/users", NewUser(local)))
                Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        using (var r = await admin.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/count.test/users", new { local = "dee", password = WebServer.Password }))
            Assert.True(r.IsSuccessStatusCode, $"API add: {r.StatusCode}");
        await web.Admin.AddUserAsync(Actor.System, "eve@count.test", new PasswordInput.Clear(WebServer.Password));
        using (var r = await admin.PostFormAsync("/domains/count.test/users", NewUser("ann"))) // exists: refused, nothing added
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Equal(6, await ShownUsersAsync(admin, "count.test"));

        using (var r = await admin.PostFormAsync("/domains/count.test/users/bob/delete", new Dictionary<string, string> { ["confirm"] = "yes" }))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        using (var r = await admin.PostFormAsync("/domains/count.test/users/cy/delete")) // unconfirmed: kept
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        await web.Admin.DeleteUserAsync(Actor.System, "eve@count.test");
        Assert.Equal(4, await ShownUsersAsync(admin, "count.test"));
        var info = await admin.GetJsonAsync("/api/v1/domains/count.test");
        Assert.Equal(4, info.GetProperty("users").GetInt32());

        // The API's pages by cursor hold every user once, in order.
        var seen = new List<string>();
        string? after = null;
        do
        {
            var page = await admin.GetJsonAsync($"/api/v1/domains/count.test/users?limit=3{(after is null ? "" : "&after=" + Uri.EscapeDataString(after))}");
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(u => u.GetProperty("address").GetString()!));
            after = page.GetProperty("next").ValueKind == System.Text.Json.JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        }
        while (after is not null);
        Assert.Equal(["ann@count.test", "cy@count.test", "dee@count.test", "postmaster@count.test"], seen);
    }
}
