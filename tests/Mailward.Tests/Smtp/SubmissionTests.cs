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
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}", cacheCheckMilliseconds: 0);
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
    }

    [Fact]
    public async Task Auth_is_not_offered_before_tls_and_mail_needs_auth_on_submission()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Submission);
        var s = tcp.GetStream();
        var r = new TranscriptRunner.ReplyReader(s);
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
        var r = new TranscriptRunner.ReplyReader(tcp);
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
}
