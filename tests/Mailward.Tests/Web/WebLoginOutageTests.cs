// The web login while the account store cannot be reached (a PostgreSQL store stopped, as in
// PostgresOutageTests): the answer is 503 "temporarily unavailable" with Retry-After, not
// "wrong address or password", and logins work again by themselves once PostgreSQL is back. The
// login throttles live in the store: an account throttled before the outage is 503 during it (the
// throttle cannot be read, so it is not skipped) and 429 again after it. A write through the API or
// a page of a signed-in session is 503 with Retry-After too (problem details, an error page), and
// works again once PostgreSQL is back.
using System.Net;
using System.Text.RegularExpressions;
using Mailward.Core.Auth;
using Mailward.Tests.Support;

namespace Mailward.Tests.Web;

public sealed partial class WebLoginOutageTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();
    private readonly PostgresServer.Cluster? _pg = PostgresServer.Unavailable is null ? PostgresServer.StartPrivate() : null;

    public void Dispose()
    {
        _servers.Dispose();
        _pg?.Dispose();
        _m.Dispose();
    }

    [FactWhenPostgres]
    public async Task A_login_while_the_store_is_down_is_503_try_again_and_works_when_it_is_back()
    {
        var conn = _pg!.CreateDatabase();
        string[] store = ["--Accounts:Provider=postgres", $"--Accounts:ConnectionString={conn}"];
        (await _m.Run([.. store, "vadddomain", "hosted.test", "pw"])).Ok();
        (await _m.Run([.. store, "vadduser", "joe@hosted.test", "Joe-secret-1"])).Ok();
        (await _m.Run([.. store, "vadduser", "ann@hosted.test", "Ann-secret-1"])).Ok();
        var (smtp, admin) = (ServerProcesses.FreePort(), ServerProcesses.FreePort());
        _servers.Start(_m.Data, smtp, [.. store, "--Log:Level=Warning", $"--Admin:Port={admin}", "--Admin:FailedLoginDelayMilliseconds=0",
            "--Node:Id=node-a", "--Accounts:UnavailableRetrySeconds=2", "--Auth:MaxFailuresPerAccount=2", .. MailwardRunner.FastHashes]);
        await ServerProcesses.WaitListeningAsync(admin);
        var at = new IPEndPoint(IPAddress.Loopback, admin);

        using (var wrong = new WebClient(at))
        using (var r = await wrong.LoginAsync("ann@hosted.test", "not-it"))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode); // the store answers: a wrong password is one (joe's record is not cached by it)
        using (var wrong = new WebClient(at))
        using (var r = await wrong.LoginAsync("ann@hosted.test", "not-it-either"))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using (var throttled = new WebClient(at))
        using (var r = await throttled.LoginAsync("ann@hosted.test", "Ann-secret-1"))
            Assert.Equal((HttpStatusCode)429, r.StatusCode); // Auth:MaxFailuresPerAccount=2

        _pg.Halt();
        await Task.Delay(1500); // past Accounts:CacheCheckMilliseconds: the cache has found the store gone
        using (var during = new WebClient(at))
        using (var r = await during.LoginAsync("joe@hosted.test", "Joe-secret-1"))
        {
            var page = await r.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Contains("temporarily unavailable", page, StringComparison.Ordinal);
            Assert.DoesNotContain("Wrong address or password", page, StringComparison.Ordinal);
            Assert.NotNull(r.Headers.RetryAfter);
        }
        using (var during = new WebClient(at))
        using (var r = await during.LoginAsync("ann@hosted.test", "Ann-secret-1"))
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode); // not let through, not 500

        _pg.Resume();
        var status = HttpStatusCode.ServiceUnavailable;
        for (var i = 0; i < 100 && status != HttpStatusCode.SeeOther; i++)
        {
            await Task.Delay(200);
            using var after = new WebClient(at);
            using var r = await after.LoginAsync("joe@hosted.test", "Joe-secret-1");
            status = r.StatusCode;
        }
        Assert.Equal(HttpStatusCode.SeeOther, status);
        using (var after = new WebClient(at))
        using (var r = await after.LoginAsync("ann@hosted.test", "Ann-secret-1"))
            Assert.Equal((HttpStatusCode)429, r.StatusCode); // still throttled: the count outlived the outage
        Assert.DoesNotContain(_servers.Output, l => l.Contains("Unhandled", StringComparison.Ordinal));
    }

    [FactWhenPostgres]
    public async Task A_write_through_the_api_or_a_page_while_the_store_is_down_is_503_try_again_and_works_when_it_is_back()
    {
        var conn = _pg!.CreateDatabase();
        string[] store = ["--Accounts:Provider=postgres", $"--Accounts:ConnectionString={conn}"];
        (await _m.Run([.. store, "vadddomain", "hosted.test", "Pm-secret-1"])).Ok();
        (await _m.Run([.. store, "vadduser", "root@hosted.test", "Root-secret-1"])).Ok();
        (await _m.Run([.. store, "admin", "grant", "--system", "root@hosted.test"])).Ok();
        var (smtp, admin) = (ServerProcesses.FreePort(), ServerProcesses.FreePort());
        _servers.Start(_m.Data, smtp, [.. store, "--Log:Level=Warning", $"--Admin:Port={admin}", "--Admin:FailedLoginDelayMilliseconds=0",
            "--Node:Id=node-a", .. MailwardRunner.FastHashes]);
        await ServerProcesses.WaitListeningAsync(admin);
        using var client = new WebClient(new IPEndPoint(IPAddress.Loopback, admin));
        await client.LoginOkAsync("root@hosted.test", "Root-secret-1"); // the session lives in the node's memory
        // A domain admin's session reads its grants from the store at each request: during the outage it is the session that fails.
        using var postmaster = new WebClient(new IPEndPoint(IPAddress.Loopback, admin));
        await postmaster.LoginOkAsync("postmaster@hosted.test", "Pm-secret-1");
        Task<HttpResponseMessage> ApiAddAsync(string local) =>
            client.SendJsonAsync(HttpMethod.Post, "/api/v1/domains/hosted.test/users", new { local, password = "New-secret-1" });
        Task<HttpResponseMessage> PageAddAsync(string local) =>
            client.PostFormAsync("/domains/hosted.test/users", new Dictionary<string, string> { ["local"] = local, ["password"] = "New-secret-1" });

        // A read after the login's own write: the node's cache holds the session's user, so the writes below
        // get past the session to their handlers (and fail there, in the store).
        Assert.Equal("root@hosted.test", (await client.GetJsonAsync("/api/v1/me")).GetProperty("address").GetString());
        Assert.Equal("postmaster@hosted.test", (await postmaster.GetJsonAsync("/api/v1/me")).GetProperty("address").GetString());

        _pg.Halt();
        await Task.Delay(1500); // past Accounts:CacheCheckMilliseconds
        using (var r = await ApiAddAsync("ann"))
        {
            var body = await r.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode); // was an unhandled exception: 500
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            Assert.Equal("unavailable", System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
            Assert.Equal(TimeSpan.FromSeconds(30), r.Headers.RetryAfter?.Delta);
        }
        using (var r = await PageAddAsync("bob"))
        {
            var page = await r.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Contains("Temporarily unavailable", page, StringComparison.Ordinal);
            Assert.Contains("root@hosted.test", page, StringComparison.Ordinal); // the signed-in page: the handler's write failed, not the session
            Assert.NotNull(r.Headers.RetryAfter);
        }
        using (var r = await postmaster.GetAsync("/api/v1/me"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode); // not 401 (the session is kept), not 500
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        }
        Assert.Contains(_servers.Output, l => l.Contains("POST /api/v1/domains/hosted.test/users from 127.0.0.1 answered 503", StringComparison.Ordinal));

        _pg.Resume();
        var status = HttpStatusCode.ServiceUnavailable;
        for (var i = 0; i < 100 && status == HttpStatusCode.ServiceUnavailable; i++)
        {
            await Task.Delay(200);
            using var r = await ApiAddAsync("ann");
            status = r.StatusCode;
        }
        Assert.Equal(HttpStatusCode.Created, status); // the same session, by itself
        Assert.Equal("postmaster@hosted.test", (await postmaster.GetJsonAsync("/api/v1/me")).GetProperty("address").GetString());
        using (var r = await PageAddAsync("bob"))
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        using var check = new Mailward.Core.Accounts.Postgres.PostgresAccountStore(conn);
        Assert.NotNull(check.FindUser("ann", "hosted.test"));
        Assert.NotNull(check.FindUser("bob", "hosted.test"));
        Assert.DoesNotContain(_servers.Output, l => l.Contains("Unhandled", StringComparison.Ordinal));
    }

    [FactWhenPostgres]
    public async Task The_second_factor_step_while_the_store_is_down_is_503_try_again_and_the_pending_login_finishes_after()
    {
        var conn = _pg!.CreateDatabase();
        string[] store = ["--Accounts:Provider=postgres", $"--Accounts:ConnectionString={conn}"];
        (await _m.Run([.. store, "vadddomain", "hosted.test", "pw"])).Ok();
        (await _m.Run([.. store, "vadduser", "joe@hosted.test", "Joe-secret-1"])).Ok();
        var (smtp, admin) = (ServerProcesses.FreePort(), ServerProcesses.FreePort());
        _servers.Start(_m.Data, smtp, [.. store, "--Log:Level=Warning", $"--Admin:Port={admin}", "--Admin:FailedLoginDelayMilliseconds=0",
            "--Node:Id=node-a", .. MailwardRunner.FastHashes]);
        await ServerProcesses.WaitListeningAsync(admin);
        var at = new IPEndPoint(IPAddress.Loopback, admin);

        // Joe turns on his second factor, then logs in again: the password step passes, the code form waits.
        string secret;
        long used;
        using (var setup = new WebClient(at))
        {
            await setup.LoginOkAsync("joe@hosted.test", "Joe-secret-1");
            using var begin = await setup.PostFormAsync("/account/totp");
            secret = SecretOnPage().Match(await begin.Content.ReadAsStringAsync()).Groups[1].Value;
            used = Totp.StepOf(DateTimeOffset.UtcNow);
            using var confirm = await setup.PostFormAsync("/account/totp/confirm", new Dictionary<string, string> { ["code"] = Totp.Code(secret, used) });
            Assert.Equal(HttpStatusCode.SeeOther, confirm.StatusCode); // TryUseTotpStep ran a SQLite PRAGMA here: a 500 on PostgreSQL
        }
        using var client = new WebClient(at);
        string pending;
        using (var r = await client.LoginAsync("joe@hosted.test", "Joe-secret-1"))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            pending = PendingOnPage().Match(await r.Content.ReadAsStringAsync()).Groups[1].Value;
            Assert.NotEmpty(pending);
        }
        Task<HttpResponseMessage> CodeAsync(string code) =>
            client.PostFormAsync("/login/totp", new Dictionary<string, string> { ["_pending"] = pending, ["code"] = code }, withToken: false);

        _pg.Halt();
        await Task.Delay(1500); // past Accounts:CacheCheckMilliseconds
        // The throttle the step checks (and counts a wrong code in) cannot be reached: try again, the code form kept; not a 500, not a pass.
        using (var r = await CodeAsync(Totp.Code(secret, used + 1)))
        {
            var page = await r.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Contains("temporarily unavailable", page, StringComparison.Ordinal);
            Assert.Contains(pending, page, StringComparison.Ordinal);
            Assert.NotNull(r.Headers.RetryAfter);
        }
        using (var me = await client.GetAsync("/api/v1/me"))
            Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);

        _pg.Resume();
        var status = HttpStatusCode.ServiceUnavailable;
        for (var i = 0; i < 100 && status == HttpStatusCode.ServiceUnavailable; i++)
        {
            await Task.Delay(200);
            using var r = await CodeAsync(Totp.Code(secret, Math.Max(used + 1, Totp.StepOf(DateTimeOffset.UtcNow)))); // never the enrolment's spent step
            status = r.StatusCode;
        }
        Assert.Equal(HttpStatusCode.SeeOther, status); // the same pending login finishes
        Assert.DoesNotContain(_servers.Output, l => l.Contains("Unhandled", StringComparison.Ordinal));
    }

    [GeneratedRegex("<code id=\"totp-secret\">([A-Z2-7]+)</code>")]
    private static partial Regex SecretOnPage();

    [GeneratedRegex("name=\"_pending\" value=\"([^\"]+)\"")]
    private static partial Regex PendingOnPage();
}
