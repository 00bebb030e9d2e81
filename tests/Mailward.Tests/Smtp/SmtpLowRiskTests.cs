// Smaller holes from the audit (issue 18, "Low"), over real sockets: badmailfrom matched on the
// address a quoted local part names and on subdomains (@.domain); STARTTLS forgets a plaintext AUTH
// (RFC 3207 §4.2); an EHLO name with control characters and no end reaches the log printable and capped.
using System.Net.Security;
using System.Text;
using Mailward.Core.Policy;
using Mailward.Tests.Support;

namespace Mailward.Tests.Smtp;

public class SmtpLowRiskTests
{
    private static async Task<string> MailFromAsync(ServerFixture server, string sender)
    {
        await using var tcp = await server.ConnectAsync("127.0.0.9");
        var r = new ReplyReader(tcp);
        await r.ReadLineAsync();
        await tcp.WriteAsync(Encoding.ASCII.GetBytes($"HELO stranger.test\r\nMAIL FROM:<{sender}>\r\nQUIT\r\n"));
        await r.ReadLineAsync();
        return await r.ReadLineAsync() ?? "";
    }

    [Fact]
    public async Task Badmailfrom_matches_quoted_and_upper_case_forms_and_subdomains()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "badmailfrom spammer@evil.test,@.evil.test,@bad.test"]);
        Assert.StartsWith("553 5.7.1", await MailFromAsync(server, "spammer@evil.test"));
        Assert.StartsWith("553 5.7.1", await MailFromAsync(server, "\"spammer\"@evil.test")); // passed before
        Assert.StartsWith("553 5.7.1", await MailFromAsync(server, "SPAMMER@Evil.Test"));
        Assert.StartsWith("553 5.7.1", await MailFromAsync(server, "anyone@mx1.evil.test")); // @.evil.test: every subdomain
        Assert.StartsWith("553 5.7.1", await MailFromAsync(server, "anyone@BAD.test"));
        Assert.StartsWith("250", await MailFromAsync(server, "other@evil.test"));   // @.evil.test is not evil.test itself
        Assert.StartsWith("250", await MailFromAsync(server, "anyone@notevil.test")); // a suffix match is at a dot
        Assert.StartsWith("250", await MailFromAsync(server, "anyone@sub.bad.test")); // @bad.test is that domain only
        Assert.StartsWith("250", await MailFromAsync(server, ""));
    }

    [Fact]
    public async Task Starttls_after_a_plaintext_auth_forgets_the_authentication()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Submission:AllowPlaintextAuth=loopback");
        await using var tcp = await server.ConnectAsync("127.0.0.1", server.Submission);
        var r = new ReplyReader(tcp);
        Assert.StartsWith("220", await r.ReadLineAsync());
        async Task<string> Say(Stream s, ReplyReader reader, string line)
        {
            await s.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            string? reply;
            while ((reply = await reader.ReadLineAsync()) is not null && reply.Length > 3 && reply[3] == '-')
            {
            }
            return reply ?? "<closed>";
        }
        await Say(tcp, r, "EHLO client.test");
        Assert.StartsWith("235", await Say(tcp, r, "AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0joe@hosted.test\0pw"))));
        Assert.StartsWith("220", await Say(tcp, r, "STARTTLS"));
        await using var tls = new SslStream(tcp, leaveInnerStreamOpen: true, (_, cert, _, _) => cert?.Subject == "CN=mail.test");
        await tls.AuthenticateAsClientAsync("mail.test");
        var tr = new ReplyReader(tls);
        await Say(tls, tr, "EHLO client.test");
        // RFC 3207 §4.2: what was said in clear text is forgotten, the AUTH included.
        Assert.StartsWith("530 5.7.0", await Say(tls, tr, "MAIL FROM:<joe@hosted.test>"));
        Assert.StartsWith("235", await Say(tls, tr, "AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0joe@hosted.test\0pw"))));
        Assert.StartsWith("250", await Say(tls, tr, "MAIL FROM:<joe@hosted.test>"));
    }

    [Fact]
    public async Task A_hostile_ehlo_name_reaches_the_log_and_the_queue_printable_and_capped()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        await using (var tcp = await server.ConnectAsync("127.0.0.9"))
        {
            var r = new ReplyReader(tcp);
            await r.ReadLineAsync();
            var name = "evil\x1b[2J\x7f\u00e9" + new string('x', 400);
            await tcp.WriteAsync(Encoding.Latin1.GetBytes($"HELO {name}\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\n"));
            for (var i = 0; i < 4; i++) // HELO, MAIL, RCPT, DATA
                await r.ReadLineAsync();
            await tcp.WriteAsync("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n"u8.ToArray());
            Assert.StartsWith("250", await r.ReadLineAsync());
            await r.ReadLineAsync();
        }
        var helo = Assert.Single(server.Messages).Envelope.ClientHelo;
        Assert.StartsWith("evil?[2J??xxx", helo, StringComparison.Ordinal);
        Assert.Equal(255 + 3, helo.Length);
        await Task.Delay(200); // the session's end line
        var end = Assert.Single(server.Log, l => l.Contains(" end client=127.0.0.9", StringComparison.Ordinal));
        Assert.Contains("helo=evil?[2J??xxx", end);
        Assert.DoesNotContain('\x1b', end);
        Assert.Equal("a?b...", ClientText.Printable("a\nbcd", 3));
    }
}
