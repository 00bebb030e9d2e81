// The audit log (issue 13 item 6) end to end: a change through each face (a command, a page, the API
// with a session and with a key) leaves one row naming who, from where, when, what, and the values
// before and after; refusals are rows too; secrets never are; a domain admin reads only its domains'
// rows, through the page and the API, in cursor pages that neither repeat nor skip.
using System.Net;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Tests.Support;

namespace Mailward.Tests.Web;

public sealed class WebAuditTests(WebServer web) : IClassFixture<WebServer>
{
    private static int _serial;

    private async Task<string> FreshUserAsync(string domain)
    {
        var local = $"au{Interlocked.Increment(ref _serial)}";
        await web.Admin.AddUserAsync(Actor.System, $"{local}@{domain}", new PasswordInput.Clear("x-secret-1"), quota: Quota.Parse("10M"));
        return local;
    }

    private AuditRecord Last(Func<AuditRecord, bool> match) =>
        web.Store.ListAudit(new AuditQuery(null, 200)).Items.First(match);

    [Fact]
    public async Task A_quota_set_on_the_page_records_the_postmaster_its_address_and_the_quota_before_and_after()
    {
        var local = await FreshUserAsync("a.test");
        using var client = await web.LoggedInAsync(WebServer.Postmaster);
        var started = DateTimeOffset.UtcNow.AddSeconds(-1);
        using var r = await client.PostFormAsync($"/domains/a.test/users/{local}/quota", new Dictionary<string, string> { ["quota"] = "20M" });
        Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);

        var row = Last(e => e.Target == $"{local}@a.test" && e.Operation == "SetQuota");
        Assert.Equal(WebServer.Postmaster, row.Actor);
        Assert.Equal("domainadmin", row.ActorKind);
        Assert.Equal("web 127.0.0.1", row.Origin);
        Assert.Equal("a.test", row.Domain);
        Assert.Equal("done", row.Outcome);
        Assert.InRange(row.At, started, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Contains($"quota={Quota.Parse("10M")}", row.Before, StringComparison.Ordinal);
        Assert.Contains($"quota={Quota.Parse("20M")}", row.After, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_through_the_api_names_the_face_and_a_key_by_its_name()
    {
        var local = await FreshUserAsync("a.test");
        using var key = web.KeyClient(web.KeyA);
        using (var r = await key.SendJsonAsync(HttpMethod.Put, $"/api/v1/users/{local}@a.test/quota", new { quota = "30M" }))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var row = Last(e => e.Target == $"{local}@a.test" && e.Operation == "SetQuota");
        Assert.Equal(("key-a", "apikey", "api 127.0.0.1"), (row.Actor, row.ActorKind, row.Origin));

        using var admin = await web.LoggedInAsync(WebServer.SystemAdmin);
        using (var r = await admin.SendJsonAsync(HttpMethod.Delete, $"/api/v1/users/{local}@a.test"))
            Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        var delete = Last(e => e.Target == $"{local}@a.test" && e.Operation == "DeleteUser");
        Assert.Equal((WebServer.SystemAdmin, "api 127.0.0.1", "done"), (delete.Actor, delete.Origin, delete.Outcome));
        Assert.Contains("quota=", delete.Before, StringComparison.Ordinal);
        Assert.Null(delete.After); // gone
    }

    [Fact]
    public async Task A_refused_change_is_a_row_and_changes_nothing()
    {
        var local = await FreshUserAsync("b.test");
        using var client = await web.LoggedInAsync(WebServer.Postmaster);
        using var r = await client.SendJsonAsync(HttpMethod.Delete, $"/api/v1/users/{local}@b.test");
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        var row = Last(e => e.Target == $"{local}@b.test" && e.Operation == "DeleteUser");
        Assert.Equal(("refused", "b.test"), (row.Outcome, row.Domain));
        Assert.Equal(row.Before, row.After);
        Assert.Contains("not an admin of b.test", row.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_change_records_that_it_happened_and_never_the_password_or_its_hash()
    {
        var local = await FreshUserAsync("a.test");
        await web.Admin.SetPasswordAsync(Actor.System, $"{local}@a.test", new PasswordInput.Clear("Very-Secret-Pass-77"));
        var row = Last(e => e.Target == $"{local}@a.test" && e.Operation == "SetPassword");
        var hash = web.Store.FindUser(local, "a.test")!.PasswordHash;
        foreach (var text in new[] { row.Before, row.After, row.Detail })
        {
            Assert.DoesNotContain("Very-Secret-Pass-77", text ?? "", StringComparison.Ordinal);
            Assert.DoesNotContain(hash, text ?? "", StringComparison.Ordinal);
        }
        Assert.Contains("password=set", row.After, StringComparison.Ordinal);
        Assert.StartsWith("command line (", row.Origin, StringComparison.Ordinal);
        Assert.Equal("system", row.Actor);
    }

    [Fact]
    public async Task A_domain_admin_reads_only_its_domains_rows_by_api_and_page()
    {
        var mine = await FreshUserAsync("a.test");
        var theirs = await FreshUserAsync("b.test");
        var theirsAddress = $"{theirs}@b.test";
        using var client = await web.LoggedInAsync(WebServer.Postmaster);

        var all = await FirstPageAsync(client, "/api/v1/audit?limit=50");
        Assert.Contains(all, e => e.GetProperty("target").GetString() == $"{mine}@a.test");
        Assert.All(all, e => Assert.Equal("a.test", e.GetProperty("domain").GetString()));

        var page = await client.GetStringAsync("/audit");
        Assert.Contains($"{mine}@a.test", page, StringComparison.Ordinal);
        Assert.DoesNotContain(theirsAddress, page, StringComparison.Ordinal);

        // Another tenant's rows, asked for by name or through the page, are refused.
        using (var r = await client.GetAsync("/api/v1/audit?domain=b.test"))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        using (var r = await client.GetAsync("/audit?domain=b.test"))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);

        // The system admin sees both; a plain user sees none.
        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        Assert.Contains(theirsAddress, await sa.GetStringAsync("/audit?domain=b.test"), StringComparison.Ordinal);
        using var user = await web.LoggedInAsync(WebServer.User);
        using (var r = await user.GetAsync("/api/v1/audit"))
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
    }

    [Fact]
    public async Task Cursor_pages_go_newest_first_without_repeating_or_skipping()
    {
        for (var i = 0; i < 5; i++)
            await FreshUserAsync("c.test");
        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        var ids = new List<long>();
        string? next = null;
        var pages = 0;
        do
        {
            var json = await sa.GetJsonAsync($"/api/v1/audit?domain=c.test&limit=2{(next is null ? "" : "&after=" + next)}");
            var items = json.GetProperty("items").EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 2);
            ids.AddRange(items.Select(e => e.GetProperty("id").GetInt64()));
            next = json.GetProperty("next").GetString();
            pages++;
        }
        while (next is not null && pages < 100);
        Assert.Equal(ids.OrderDescending(), ids);
        Assert.Equal(ids.Distinct().Count(), ids.Count);
        Assert.Equal(web.Store.ListAudit(new AuditQuery(null, 1000, Domain: "c.test")).Items.Select(e => e.Id), ids);
        Assert.True(ids.Count >= 5);
        using var bad = await sa.GetAsync("/api/v1/audit?after=abc");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("invalid-argument", JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_command_records_the_command_line_as_its_origin()
    {
        using var m = new MailwardRunner();
        (await m.Run("domain", "add", "cli.test", "pw")).Ok();
        (await m.Run("user", "add", "ann@cli.test", "pw")).Ok();
        (await m.Run("user", "quota", "ann@cli.test", "5M")).Ok();
        var rows = m.Store.ListAudit(new AuditQuery(null, 10)).Items;
        Assert.Equal(["SetQuota", "AddUser", "AddDomain"], rows.Select(e => e.Operation).Take(3));
        Assert.All(rows, e => Assert.Equal(("system", "cli.test", "done"), (e.Actor, e.Domain, e.Outcome)));
        Assert.All(rows, e => Assert.StartsWith("command line (", e.Origin, StringComparison.Ordinal));
        Assert.Null(rows[2].Before);
        Assert.Contains("catch-all=", rows[2].After, StringComparison.Ordinal);
    }

    private static async Task<List<JsonElement>> FirstPageAsync(WebClient client, string path)
    {
        var all = new List<JsonElement>();
        var json = await client.GetJsonAsync(path);
        all.AddRange(json.GetProperty("items").EnumerateArray());
        return all;
    }
}
