// Submission with MailKit's SmtpClient over real sockets: STARTTLS on 587 and TLS on 465 with AUTH
// PLAIN and LOGIN; AUTH refused before TLS; a wrong password refused after the delay; relay after
// AUTH delivered through the smarthost; AUTH required before MAIL; the no-smtp and no-relay flags;
// sender ownership; AUTH on port 25 after STARTTLS.
using System.Diagnostics;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Tests.Delivery;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Smtp;

public class SubmissionTests
{
    private static SmtpClient Client() => new() { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000 };

    private static MimeMessage Message(string from, params string[] to)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse(from));
        foreach (var t in to)
            m.To.Add(MailboxAddress.Parse(t));
        m.Subject = "submitted";
        m.Body = new TextPart("plain") { Text = "hello" };
        return m;
    }

    private static void SetFlags(ServerFixture server, string local, UserFlags flags)
    {
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        store.UpdateUser(store.FindUser(local, "hosted.test")! with { Flags = flags });
        store.Dispose();
    }

    [Fact]
    public async Task Starttls_on_587_and_tls_on_465_with_plain_and_login_relay_through_the_smarthost()
    {
        await using var mta = new TestMta();
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test"],
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        using (var c = Client())
        {
            await c.ConnectAsync(server.Submission.Address.ToString(), server.Submission.Port, SecureSocketOptions.StartTls);
            Assert.Contains("PLAIN", c.AuthenticationMechanisms);
            c.AuthenticationMechanisms.Remove("LOGIN");
            await c.AuthenticateAsync("joe@hosted.test", "pw"); // PLAIN
            await c.SendAsync(Message("joe@hosted.test", "friend@remote.test", "ann@hosted.test"));
            await c.DisconnectAsync(true);
        }
        using (var c = Client())
        {
            await c.ConnectAsync(server.Smtps.Address.ToString(), server.Smtps.Port, SecureSocketOptions.SslOnConnect);
            c.AuthenticationMechanisms.Remove("PLAIN");
            await c.AuthenticateAsync("ann@hosted.test", "pw"); // LOGIN
            await c.SendAsync(Message("ann@hosted.test", "other@remote.test"));
            await c.DisconnectAsync(true);
        }
        await mta.WaitForAsync(2);
        await DeliveryTestMail.SettleAsync(server);
        var first = System.Text.Encoding.UTF8.GetString(mta.Received.First(m => m.Sender == "joe@hosted.test").Data);
        Assert.Contains("with ESMTPSA id", first); // RFC 3848
        Assert.Contains("(authenticated sender: joe@hosted.test)", first);
        Assert.DoesNotContain("pw", first.Split("\r\n\r\n")[0].Split('\n').Where(l => l.Contains("authenticated", StringComparison.Ordinal)));
        Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, "ann@hosted.test")));
        Assert.Contains(server.Log, l => l.Contains("auth client=127.0.0.1 user=joe@hosted.test result=ok", StringComparison.Ordinal));
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        Assert.Equal("smtp", store.FindUser("joe", "hosted.test")!.LastLogin!.Service); // vpopmail's last-auth, service smtp
        store.Dispose();
    }

    [Fact]
    public async Task Auth_is_not_offered_before_tls_and_mail_needs_auth_on_submission()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Submission);
        var s = tcp.GetStream();
        var r = new ReplyReader(s);
        await r.ReadLineAsync();
        await s.WriteAsync("EHLO c.test\r\n"u8.ToArray());
        var ehlo = new List<string>();
        string? line;
        do
            ehlo.Add(line = await r.ReadLineAsync() ?? "");
        while (line.StartsWith("250-", StringComparison.Ordinal));
        Assert.Equal("250 STARTTLS", ehlo[^1]);
        Assert.DoesNotContain(ehlo, l => l.Contains("AUTH", StringComparison.Ordinal));
        await s.WriteAsync("AUTH PLAIN AGpvZUBob3N0ZWQudGVzdABwdw==\r\nMAIL FROM:<joe@hosted.test>\r\n"u8.ToArray());
        Assert.StartsWith("538 5.7.11", await r.ReadLineAsync());
        Assert.Equal("530 5.7.0 Authentication required", await r.ReadLineAsync());
    }

    [Fact]
    public async Task Wrong_password_is_refused_after_the_delay_and_relay_without_auth_is_refused()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Submission:FailedAuthDelayMilliseconds=1200");
        using (var c = Client())
        {
            await c.ConnectAsync(server.Submission.Address.ToString(), server.Submission.Port, SecureSocketOptions.StartTls);
            var sw = Stopwatch.StartNew();
            await Assert.ThrowsAsync<AuthenticationException>(() => c.AuthenticateAsync("joe@hosted.test", "wrong"));
            Assert.True(sw.ElapsedMilliseconds >= 1100, $"answered after {sw.ElapsedMilliseconds} ms");
        }
        // A stranger on port 25 without AUTH cannot relay.
        await using var tcp = await server.ConnectAsync("127.0.0.9");
        var r = new ReplyReader(tcp);
        await r.ReadLineAsync();
        await tcp.WriteAsync("HELO x.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<b@elsewhere.test>\r\n"u8.ToArray());
        await r.ReadLineAsync();
        await r.ReadLineAsync();
        Assert.StartsWith("554 5.7.1", await r.ReadLineAsync());
    }

    [Fact]
    public async Task Flags_and_sender_ownership()
    {
        await using var server = await ServerFixture.StartAsync(
            ["user joe@hosted.test", "user inside@hosted.test", "user nosmtp@hosted.test", "user boss@hosted.test",
             "alias sales@hosted.test &joe@hosted.test", "aliasdomain alias.test hosted.test"]);
        SetFlags(server, "inside", UserFlags.NoRelay);
        SetFlags(server, "nosmtp", UserFlags.NoSmtp);
        SetFlags(server, "boss", UserFlags.DomainAdmin);
        await Task.Delay(1100);

        async Task<SmtpClient> Login(string user)
        {
            var c = Client();
            await c.ConnectAsync(server.Submission.Address.ToString(), server.Submission.Port, SecureSocketOptions.StartTls);
            await c.AuthenticateAsync(user, "pw");
            return c;
        }
        using (var c = Client())
        {
            await c.ConnectAsync(server.Submission.Address.ToString(), server.Submission.Port, SecureSocketOptions.StartTls);
            await Assert.ThrowsAsync<AuthenticationException>(() => c.AuthenticateAsync("nosmtp@hosted.test", "pw"));
        }
        using (var inside = await Login("inside@hosted.test"))
        {
            await inside.SendAsync(Message("inside@hosted.test", "joe@hosted.test")); // hosted: fine
            var e = await Assert.ThrowsAsync<SmtpCommandException>(() => inside.SendAsync(Message("inside@hosted.test", "far@remote.test")));
            Assert.Contains("hosted domains only", e.Message);
        }
        using (var joe = await Login("joe@hosted.test"))
        {
            await joe.SendAsync(Message("joe@hosted.test", "ann@remote.test"));
            await joe.SendAsync(Message("sales@hosted.test", "ann@remote.test")); // an alias delivering to joe
            await joe.SendAsync(Message("joe@alias.test", "ann@remote.test"));   // the alias domain
            var e = await Assert.ThrowsAsync<SmtpCommandException>(() => joe.SendAsync(Message("inside@hosted.test", "ann@remote.test")));
            Assert.Equal(SmtpErrorCode.SenderNotAccepted, e.ErrorCode);
            Assert.Contains("not owned by user joe@hosted.test", e.Message);
        }
        using (var boss = await Login("boss@hosted.test"))
            await boss.SendAsync(Message("anyone@hosted.test", "ann@remote.test")); // a domain admin may use any address of its domain
        Assert.Equal(5, server.Queue.Messages.Count + DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, "joe@hosted.test")).Length);
    }

    [Fact]
    public async Task Port_25_offers_auth_after_starttls_and_then_relays()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        using var c = Client();
        c.LocalEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.9"), 0); // a stranger: no relay rule
        await c.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.StartTls);
        Assert.True(c.Capabilities.HasFlag(SmtpCapabilities.Authentication));
        await c.AuthenticateAsync("joe@hosted.test", "pw");
        await c.SendAsync(Message("joe@hosted.test", "far@remote.test"));
        var queued = Assert.Single(server.Queue.Messages);
        Assert.Equal("joe@hosted.test", queued.Envelope.AuthenticatedUser);
        Assert.Equal("ESMTPSA", queued.Envelope.Protocol);
    }

    [Fact]
    public async Task A_submitted_message_without_Date_and_Message_ID_gets_them_and_plaintext_auth_works_on_loopback_when_allowed()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Submission:AllowPlaintextAuth=loopback");
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Submission);
        var s = tcp.GetStream();
        var r = new ReplyReader(s);
        await r.ReadLineAsync();
        var plain = Convert.ToBase64String("\0joe@hosted.test\0pw"u8.ToArray());
        await s.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"EHLO c.test\r\nAUTH PLAIN {plain}\r\n"));
        string? line;
        do
            line = await r.ReadLineAsync();
        while (line!.StartsWith("250-", StringComparison.Ordinal));
        Assert.Equal("235 2.7.0 Authentication successful", await r.ReadLineAsync());
        async Task Send(string message)
        {
            await s.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"MAIL FROM:<joe@hosted.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\n"));
            for (var i = 0; i < 3; i++)
                await r.ReadLineAsync();
            await s.WriteAsync(System.Text.Encoding.ASCII.GetBytes(message + ".\r\n"));
            Assert.StartsWith("250 2.0.0", await r.ReadLineAsync());
        }
        await Send("Subject: bare\r\nX-Folded: a\r\n Date: not a field\r\n\r\nDate: in the body\r\n");
        await Send("Subject: complete\r\nDate: Mon, 23 Nov 2026 06:00:00 +0000\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n");
        var bodies = server.Messages.Select(m =>
        {
            using var b = Core.Queue.QueueStore.OpenBody(m);
            return new StreamReader(b).ReadToEnd();
        }).ToList();
        var bare = bodies.Single(b => b.Contains("Subject: bare", StringComparison.Ordinal));
        var header = bare[..bare.IndexOf("\r\n\r\n", StringComparison.Ordinal)];
        Assert.Matches(@"\r\nDate: \w{3}, \d{1,2} \w{3} \d{4} ", header);
        Assert.Matches(@"\r\nMessage-ID: <[0-9A-F]+\.\d+@mail\.test>$", header);
        Assert.EndsWith("Date: in the body\r\n", bare);
        var complete = bodies.Single(b => b.Contains("Subject: complete", StringComparison.Ordinal));
        Assert.Single(complete.Split("\r\n"), l => l.StartsWith("Date:", StringComparison.Ordinal));
        Assert.DoesNotContain("Message-ID: <", complete.Replace("Message-ID: <x@y>", "", StringComparison.Ordinal));
    }
}

public class SwaksTests
{
    private static async Task<(int Code, string Output)> Swaks(params string[] args)
    {
        var psi = new ProcessStartInfo("swaks", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await output + await error);
    }

    [FactWhenInstalled("swaks")]
    public async Task Swaks_authenticates_over_starttls_and_tls_and_a_bounce_mail_account_is_refused()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user gone@hosted.test"]);
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        store.UpdateUser(store.FindUser("gone", "hosted.test")! with { Flags = UserFlags.BounceMail });
        store.Dispose();
        await Task.Delay(1100);
        string[] common = ["--server", "127.0.0.1", "--from", "joe@hosted.test", "--to", "friend@remote.test", "--auth-user", "joe@hosted.test", "--auth-password", "pw"];
        var starttls = await Swaks([.. common, "--port", server.Submission.Port.ToString(), "--tls", "--auth", "LOGIN"]);
        Assert.True(starttls.Code == 0, starttls.Output);
        Assert.Contains("235 2.7.0 Authentication successful", starttls.Output);
        var implicitTls = await Swaks([.. common, "--port", server.Smtps.Port.ToString(), "--tls-on-connect", "--auth", "PLAIN"]);
        Assert.True(implicitTls.Code == 0, implicitTls.Output);
        var noTls = await Swaks([.. common, "--port", server.Submission.Port.ToString(), "--auth", "PLAIN"]);
        Assert.NotEqual(0, noTls.Code); // AUTH is not offered before TLS
        var gone = await Swaks("--server", "127.0.0.1", "--port", server.Submission.Port.ToString(), "--tls", "--auth", "PLAIN",
            "--auth-user", "gone@hosted.test", "--auth-password", "pw", "--from", "gone@hosted.test", "--to", "friend@remote.test");
        Assert.Contains("535 5.7.8", gone.Output);
        Assert.Equal(2, server.Queue.Messages.Count);
    }
}

public class SendingLimitTests
{
    [Fact]
    public async Task Messages_per_hour_and_recipients_per_message_are_answered_with_4xx_and_a_domain_can_differ()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "domain other.test", "user max@other.test"], clock,
            "--Submission:MaxMessagesPerHour=2", "--Submission:MaxRecipientsPerMessage=2", "--Submission:Overrides:other.test:MaxMessagesPerHour=1");
        async Task<SmtpClient> Login(string user)
        {
            var c = new SmtpClient { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000 };
            await c.ConnectAsync(server.Submission.Address.ToString(), server.Submission.Port, SecureSocketOptions.StartTls);
            await c.AuthenticateAsync(user, "pw");
            return c;
        }
        static MimeMessage M(string from, params string[] to)
        {
            var m = new MimeMessage();
            m.From.Add(MailboxAddress.Parse(from));
            foreach (var t in to)
                m.To.Add(MailboxAddress.Parse(t));
            m.Body = new TextPart("plain") { Text = "x" };
            return m;
        }
        using var joe = await Login("joe@hosted.test");
        var tooMany = await Assert.ThrowsAsync<SmtpCommandException>(() => joe.SendAsync(M("joe@hosted.test", "a@remote.test", "b@remote.test", "c@remote.test")));
        Assert.Equal(System.Net.Mail.SmtpStatusCode.InsufficientStorage, (System.Net.Mail.SmtpStatusCode)(int)tooMany.StatusCode); // 452
        await joe.SendAsync(M("joe@hosted.test", "a@remote.test", "b@remote.test"));
        await joe.SendAsync(M("joe@hosted.test", "a@remote.test"));
        var limit = await Assert.ThrowsAsync<SmtpCommandException>(() => joe.SendAsync(M("joe@hosted.test", "a@remote.test")));
        Assert.Equal(450, (int)limit.StatusCode);
        Assert.Contains("2 messages per hour", limit.Message);
        using var max = await Login("max@other.test");
        await max.SendAsync(M("max@other.test", "a@remote.test"));
        Assert.Equal(450, (int)(await Assert.ThrowsAsync<SmtpCommandException>(() => max.SendAsync(M("max@other.test", "a@remote.test")))).StatusCode);
        clock.Advance(TimeSpan.FromMinutes(61));
        await joe.SendAsync(M("joe@hosted.test", "a@remote.test")); // the hour has room again
        Assert.Equal(4, server.Queue.Messages.Count);
    }
}

public class SubmissionHeadersTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public void The_header_end_and_the_missing_fields_are_found_in_any_chunking(int chunk)
    {
        var message = "Subject: x\r\nDATE: Mon, 1 Jan 2026 00:00:00 +0000\r\nX-Long-Name-Beyond-Sixteen: y\r\n message-id: folded\r\n\r\nMessage-ID: body\r\n"u8.ToArray();
        var scanner = new Mailward.Protocols.Smtp.SubmissionHeaders();
        var end = -1;
        for (var i = 0; i < message.Length && end < 0; i += chunk)
        {
            var at = scanner.Scan(message.AsSpan(i, Math.Min(chunk, message.Length - i)));
            if (at >= 0)
                end = i + at;
        }
        Assert.Equal(System.Text.Encoding.ASCII.GetString(message).IndexOf("\r\n\r\n", StringComparison.Ordinal) + 2, end);
        var missing = System.Text.Encoding.ASCII.GetString(scanner.Missing("mail.test", "ID", DateTimeOffset.UnixEpoch));
        Assert.DoesNotContain("Date:", missing); // DATE: counts, case-insensitive
        Assert.StartsWith("Message-ID: <ID.0@mail.test>", missing); // a folded line or the body does not
    }
}
