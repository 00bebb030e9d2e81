// Mailing lists through the API (issue 15 item 6) over real HTTP against the running server: a
// postmaster makes a list with settings, is held to the domain's max-lists with the error
// `mailward list add` gives, changes settings (a bad value refused, nothing changed), pages through
// the subscribers with the cursor, removes one; each change leaves an audit row with the list's
// state before and after; another tenant's lists are refused.
using System.Net;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;

namespace Mailward.Tests.Web;

public sealed class WebListApiTests(WebServer web) : IClassFixture<WebServer>
{
    private AuditRecord Last(Func<AuditRecord, bool> match) =>
        web.Store.ListAudit(new AuditQuery(null, 200)).Items.First(match);

    private static async Task<JsonElement> JsonOf(HttpResponseMessage r) =>
        JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    [Fact]
    public async Task A_postmaster_makes_a_list_within_max_lists_sets_it_and_pages_through_its_subscribers()
    {
        using var client = await web.LoggedInAsync(WebServer.Postmaster);
        using (var r = await client.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/lists",
            new { local = "team", settings = new { name = "Team", policy = "subscribers", prefix = "[team]", trailer = "bye" } }))
        {
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            var list = await JsonOf(r);
            Assert.Equal("team@a.test", list.GetProperty("address").GetString());
            Assert.Equal("subscribers", list.GetProperty("policy").GetString());
            Assert.Equal("bye", list.GetProperty("trailer").GetString());
        }
        var added = Last(e => e.Target == "team@a.test" && e.Operation == "AddList");
        Assert.Equal((WebServer.Postmaster, "a.test", "done"), (added.Actor, added.Domain, added.Outcome));
        Assert.Null(added.Before);
        Assert.Contains("policy=subscribers; prefix=[team];", added.After, StringComparison.Ordinal);

        // The domain's max-lists, as the command line's: the same error.
        await web.Admin.SetLimitsAsync(Actor.System, "a.test", new DomainLimits { MaxLists = 1 });
        try
        {
            using var r = await client.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/lists", new { local = "second" });
            var problem = await JsonOf(r);
            Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
            Assert.Equal(("limit-reached", 18), (problem.GetProperty("error").GetString(), problem.GetProperty("exitCode").GetInt32()));
            Assert.Contains("a.test has its most lists (1; mailward domain limits)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await web.Admin.SetLimitsAsync(Actor.System, "a.test", DomainLimits.None);
        }
        Assert.Single((await JsonOf(await client.GetAsync("/api/v1/domains/a.test/lists"))).EnumerateArray());

        // A value no setting takes: 400 with the reason, the list as it was.
        using (var r = await client.SendJsonAsync(HttpMethod.Patch, "/api/v1/domains/a.test/lists/team", new { policy = "everyone", prefix = "[x]" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("policy: not one of open, subscribers, moderated, announce", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var r = await client.SendJsonAsync(HttpMethod.Patch, "/api/v1/domains/a.test/lists/team", new { policy = "moderated", maxBytes = 2048 }))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var list = await JsonOf(r);
            Assert.Equal(("moderated", "[team]", 2048L), (list.GetProperty("policy").GetString(), list.GetProperty("prefix").GetString(), list.GetProperty("maxBytes").GetInt64()));
        }
        var set = Last(e => e.Target == "team@a.test" && e.Operation == "SetList");
        Assert.Contains("policy=subscribers;", set.Before, StringComparison.Ordinal);
        Assert.Contains("policy=moderated;", set.After, StringComparison.Ordinal);

        // Five subscribers at once, then pages of two by the cursor: every address once, in order.
        string[] people = ["e@remote.test", "a@remote.test", "d@remote.test", "c@remote.test", "b@remote.test"];
        using (var r = await client.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/a.test/lists/team/subscribers", new { addresses = people }))
            Assert.Equal(5, (await JsonOf(r)).GetProperty("changed").GetInt32());
        var seen = new List<string>();
        string? after = null;
        var pages = 0;
        do
        {
            var page = await JsonOf(await client.GetAsync($"/api/v1/domains/a.test/lists/team/subscribers?limit=2{(after is null ? "" : "&after=" + Uri.EscapeDataString(after))}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetString()!));
            after = page.GetProperty("next").GetString();
            pages++;
        }
        while (after is not null);
        Assert.Equal(people.Order(StringComparer.Ordinal), seen);
        Assert.Equal(3, pages);
        var search = await JsonOf(await client.GetAsync("/api/v1/domains/a.test/lists/team/subscribers?search=C%40"));
        Assert.Equal(["c@remote.test"], search.GetProperty("items").EnumerateArray().Select(i => i.GetString()));

        using (var r = await client.SendJsonAsync(HttpMethod.Delete, "/api/v1/domains/a.test/lists/team/subscribers/c@remote.test"))
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        var removed = Last(e => e.Target == "team@a.test" && e.Operation == "ChangeListMembers");
        Assert.Contains("subscribers=5;", removed.Before, StringComparison.Ordinal);
        Assert.Contains("subscribers=4;", removed.After, StringComparison.Ordinal);
        using (var r = await client.SendJsonAsync(HttpMethod.Get, "/api/v1/domains/a.test/lists/team/members"))
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode); // not a set
        Assert.Equal(4, (await JsonOf(await client.GetAsync("/api/v1/domains/a.test/lists/team"))).GetProperty("subscribers").GetInt32());

        // Another tenant's domain: refused before anything is looked at, and a refusal row.
        using (var r = await client.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/b.test/lists", new { local = "theirs" }))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Equal("refused", Last(e => e.Target == "theirs@b.test" && e.Operation == "AddList").Outcome);

        using (var r = await client.SendJsonAsync(HttpMethod.Delete, "/api/v1/domains/a.test/lists/team"))
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        using (var r = await client.GetAsync("/api/v1/domains/a.test/lists/team"))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Null(Last(e => e.Target == "team@a.test" && e.Operation == "DeleteList").After);
    }
}
