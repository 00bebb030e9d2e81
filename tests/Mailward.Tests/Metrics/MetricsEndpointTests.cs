// /metrics and /healthz on the Admin listener (issue 17 item 5, docs/metrics.md). A child
// `mailward serve` (its own process, so its counters hold this test's traffic and nothing else)
// takes known traffic from real clients: messages through MailKit's SmtpClient, a refused recipient,
// good and bad POP3 and IMAP logins through MailKit; a scrape during the run must show exactly
// those counts. /healthz turns 503 when the queue folder stops taking files and 200 again after;
// only the allow list or the bearer token may read either.
using System.Globalization;
using System.Net;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Core.Posix;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;
using WebClient = Mailward.Tests.Web.WebClient;

namespace Mailward.Tests.Metrics;

public sealed class MetricsEndpointTests : IDisposable
{
    private const string Password = "Metrics-pw-1";

    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    /// <summary>The samples of a Prometheus text exposition: "name{labels}" → value.</summary>
    private static Dictionary<string, double> Parse(string text) =>
        text.Split('\n').Where(l => l.Length > 0 && l[0] != '#')
            .Select(l => (Key: l[..l.LastIndexOf(' ')], Value: l[(l.LastIndexOf(' ') + 1)..]))
            .ToDictionary(s => s.Key, s => double.Parse(s.Value, CultureInfo.InvariantCulture));

    private static double Sample(Dictionary<string, double> samples, string key) => samples.GetValueOrDefault(key);

    private static async Task<Dictionary<string, double>> ScrapeAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString());
        return Parse(await response.Content.ReadAsStringAsync());
    }

    private static async Task<Dictionary<string, double>> ScrapeUntilAsync(HttpClient http, Func<Dictionary<string, double>, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var samples = await ScrapeAsync(http);
            if (done(samples) || DateTime.UtcNow > deadline)
                return samples;
            await Task.Delay(100);
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(WebClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task PopLoginAsync(int port, string password)
    {
        using var pop = new Pop3Client { Timeout = 15_000 };
        await pop.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
        // One attempt per login: USER/PASS (MailKit would follow a refused APOP or SASL attempt with another).
        pop.Capabilities &= ~Pop3Capabilities.Apop;
        pop.AuthenticationMechanisms.Clear();
        try
        {
            await pop.AuthenticateAsync("joe@hosted.test", password);
        }
        catch (AuthenticationException) when (password != Password)
        {
        }
        await pop.DisconnectAsync(true);
    }

    private static async Task ImapLoginAsync(int port, string password)
    {
        using var imap = new ImapClient { Timeout = 15_000 };
        await imap.ConnectAsync("127.0.0.1", port, SecureSocketOptions.None);
        imap.AuthenticationMechanisms.Clear(); // LOGIN, one attempt per login
        try
        {
            await imap.AuthenticateAsync("joe@hosted.test", password);
        }
        catch (AuthenticationException) when (password != Password)
        {
        }
        await imap.DisconnectAsync(true);
    }

    [Fact]
    public async Task A_scrape_during_a_run_shows_the_counts_of_that_run()
    {
        const int Messages = 5;
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "joe@hosted.test", Password)).Ok();
        var (smtp, pop3, imap, admin) = (ServerProcesses.FreePort(), ServerProcesses.FreePort(), ServerProcesses.FreePort(), ServerProcesses.FreePort());
        _servers.Start(_m.Data, smtp, $"--Pop3:Port={pop3}", $"--Imap:Port={imap}", $"--Admin:Port={admin}",
            "--Pop3:FailedLoginDelayMilliseconds=0", "--Imap:FailedLoginDelayMilliseconds=0");
        await ServerProcesses.WaitListeningAsync(admin); // not the mail ports: a probe there would be a session too
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}"), Timeout = TimeSpan.FromSeconds(30) };

        var before = await ScrapeAsync(http);
        Assert.Equal(0, Sample(before, "mailward_messages_accepted_total{source=\"smtp\"}"));
        Assert.Equal(0, Sample(before, "mailward_queue_messages"));

        using (var client = new SmtpClient { Timeout = 15_000 })
        {
            await client.ConnectAsync("127.0.0.1", smtp, SecureSocketOptions.None);
            for (var i = 0; i < Messages; i++)
            {
                var message = new MimeMessage { Subject = $"metrics {i}" };
                message.From.Add(MailboxAddress.Parse("sender@remote.test"));
                message.To.Add(MailboxAddress.Parse("joe@hosted.test"));
                message.Body = new TextPart("plain") { Text = "counted\n" };
                await client.SendAsync(message);
            }
            var unknown = new MimeMessage { Subject = "nobody" };
            unknown.From.Add(MailboxAddress.Parse("sender@remote.test"));
            unknown.To.Add(MailboxAddress.Parse("nobody@hosted.test"));
            unknown.Body = new TextPart("plain") { Text = "refused\n" };
            var refused = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(unknown));
            Assert.Equal(SmtpErrorCode.RecipientNotAccepted, refused.ErrorCode);
            await client.DisconnectAsync(true);
        }
        foreach (var password in new[] { Password, "wrong-1", Password, "wrong-2", Password })
            await PopLoginAsync(pop3, password);
        foreach (var password in new[] { Password, "wrong-3", Password })
            await ImapLoginAsync(imap, password);

        var after = await ScrapeUntilAsync(http, s =>
            Sample(s, "mailward_deliveries_total{channel=\"local\",result=\"delivered\"}") >= Messages
            && Sample(s, "mailward_session_duration_seconds_count{listener=\"imap\"}") >= 3);

        Assert.Equal(Messages, Sample(after, "mailward_messages_accepted_total{source=\"smtp\"}"));
        Assert.Equal(1, Sample(after, "mailward_messages_refused_total{stage=\"rcpt\",reason=\"user_unknown\"}"));
        Assert.Equal(Messages, Sample(after, "mailward_deliveries_total{channel=\"local\",result=\"delivered\"}"));
        Assert.Equal(Messages, Sample(after, "mailward_delivery_delay_seconds_count{channel=\"local\"}"));
        Assert.Equal(0, Sample(after, "mailward_queue_messages"));
        Assert.Equal(0, Sample(after, "mailward_queue_oldest_message_age_seconds"));

        Assert.Equal(1, Sample(after, "mailward_connections_total{listener=\"smtp\"}"));
        Assert.Equal(5, Sample(after, "mailward_connections_total{listener=\"pop3\"}"));
        Assert.Equal(3, Sample(after, "mailward_connections_total{listener=\"imap\"}"));
        Assert.Equal(5, Sample(after, "mailward_session_duration_seconds_count{listener=\"pop3\"}"));
        Assert.Equal(0, Sample(after, "mailward_sessions_active{listener=\"pop3\"}"));

        Assert.Equal(3, Sample(after, "mailward_logins_total{service=\"pop3\",result=\"ok\"}"));
        Assert.Equal(2, Sample(after, "mailward_logins_total{service=\"pop3\",result=\"bad_credentials\"}"));
        Assert.Equal(2, Sample(after, "mailward_logins_total{service=\"imap\",result=\"ok\"}"));
        Assert.Equal(1, Sample(after, "mailward_logins_total{service=\"imap\",result=\"bad_credentials\"}"));
        // The first good password is checked against the hash; the four good ones after it come from the cache.
        Assert.Equal(4, Sample(after, "mailward_login_cache_total{result=\"hit\"}"));
        Assert.Equal(4, Sample(after, "mailward_login_cache_total{result=\"miss\"}"));
        Assert.True(Sample(after, "mailward_account_store_seconds_count{lookup=\"user\"}") >= 1);

        // Nothing names a user, an address or a domain.
        var text = await http.GetStringAsync("/metrics");
        Assert.DoesNotContain("joe", text);
        Assert.DoesNotContain("hosted.test", text);
    }

    [Fact]
    public async Task Queued_mail_shows_in_the_queue_gauges_and_TLS_versions_are_counted()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Delivery:Enabled=false");
        using var web = new WebClient(server.Admin);
        using (var client = new SmtpClient { Timeout = 15_000 })
        {
            client.ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test"; // the self-signed one
            await client.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.StartTls);
            var message = new MimeMessage { Subject = "held" };
            message.From.Add(MailboxAddress.Parse("sender@remote.test"));
            message.To.Add(MailboxAddress.Parse("joe@hosted.test"));
            message.Body = new TextPart("plain") { Text = "waits\n" };
            await client.SendAsync(message);
            await client.DisconnectAsync(true);
        }
        // This process's registry is shared with other tests' servers: only what is certain here.
        var samples = Parse(await web.GetStringAsync("/metrics"));
        Assert.True(Sample(samples, "mailward_queue_messages") >= 1);
        Assert.True(Sample(samples, "mailward_tls_handshakes_total{version=\"TLSv1.3\"}") + Sample(samples, "mailward_tls_handshakes_total{version=\"TLSv1.2\"}") >= 1);
    }

    [Fact]
    public async Task Healthz_turns_503_when_the_queue_folder_takes_no_file_and_200_after()
    {
        await using var server = await ServerFixture.StartAsync([]);
        using var web = new WebClient(server.Admin);
        var (ok, body) = await GetAsync(web, "/healthz");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal("ok\nqueue: ok\nstore: ok\nlisteners: ok\n", body);

        var queue = Path.Combine(server.DataPath, "queue");
        var aside = queue + ".aside";
        var root = Libc.EffectiveUserId == 0;
        // As root a mode takes nothing away: the folder is put aside and a plain file takes its name.
        if (root)
        {
            Directory.Move(queue, aside);
            await File.WriteAllTextAsync(queue, "not a folder\n");
        }
        else
            File.SetUnixFileMode(queue, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var (status, failed) = await GetAsync(web, "/healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.StartsWith("unhealthy\nqueue: ", failed);
            Assert.DoesNotContain("store:", failed);
            Assert.DoesNotContain("listeners:", failed);
        }
        finally
        {
            if (root)
            {
                File.Delete(queue);
                Directory.Move(aside, queue);
            }
            else
                File.SetUnixFileMode(queue, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var (again, healthy) = await GetAsync(web, "/healthz");
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.StartsWith("ok\n", healthy);
        Assert.False(File.Exists(Path.Combine(queue, "healthz.probe")));
    }

    [Fact]
    public async Task Only_the_allow_list_or_the_bearer_token_may_read_them()
    {
        // Defaults: loopback's 127.0.0.1 and ::1 only; another address is refused, even on this host.
        await using (var open = await ServerFixture.StartAsync([]))
        {
            using var stranger = new WebClient(open.Admin, "127.0.0.3");
            Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(stranger, "/metrics")).Status);
            Assert.Equal(HttpStatusCode.Forbidden, (await GetAsync(stranger, "/healthz")).Status);
        }
        await using var server = await ServerFixture.StartAsync([], "--Metrics:AllowFrom=127.0.0.2/32", "--Metrics:BearerToken=scrape-secret");
        using (var listed = new WebClient(server.Admin, "127.0.0.2"))
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(listed, "/metrics")).Status);
        using var local = new WebClient(server.Admin);
        var (status, _) = await GetAsync(local, "/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        local.DefaultHeaders.Authorization = new("Bearer", "wrong-secret");
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(local, "/healthz")).Status);
        local.DefaultHeaders.Authorization = new("Bearer", "scrape-secret");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(local, "/metrics")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(local, "/healthz")).Status);
    }
}
