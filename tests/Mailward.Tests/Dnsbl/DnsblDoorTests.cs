// DNS lists at the SMTP door over real sockets: strangers connect from other loopback addresses
// (127.0.0.9 and up) and a real DNS server on loopback (DnsTestServer) lists some of them. A listed
// client is refused with the list's text (sanitized), at RCPT or instead of the greeting; error
// answers (Spamhaus' 127.255.255.254 over a public resolver), answers outside 127/8 and DNS failures
// never refuse; relay, authenticated and submission clients and DNSWL-listed ones are exempt; a
// "mark" list only adds a header.
using System.Net;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Core.Dnsbl;
using Mailward.Core.PolicyDns;
using Mailward.Core.Queue;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Dnsbl;

public sealed class DnsblDoorTests
{
    private static readonly IPAddress DnsAddress = IPAddress.Parse("127.0.0.53");

    private static Task<ServerFixture> Server(DnsTestServer dns, string lists, params string[] more) =>
        ServerFixture.StartAsync(["user joe@hosted.test", .. more], $"--Dns:Servers={dns.Setting}", "--Dns:TimeoutMilliseconds=2000", "--Dns:Retries=0",
            $"--Policy:Dnsbl={lists}");

    private static void List(DnsTestServer dns, string client, string zone, string answer = "127.0.0.2", string? text = null)
    {
        var name = DnsblChecker.ReversedName(IPAddress.Parse(client)) + "." + zone;
        dns.Add(name, "A", answer);
        if (text is not null)
            dns.Add(name, "TXT", text);
    }

    private static async Task<string> RcptFrom(ServerFixture server, string client)
    {
        await using var talk = await SmtpTalk.OpenAsync(server, client);
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<someone@remote.test>"));
        return await talk.SendAsync("RCPT TO:<joe@hosted.test>");
    }

    [Fact]
    public async Task A_listed_client_is_refused_at_RCPT_with_the_lists_text_made_safe()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        List(dns, "127.0.0.9", "bl.test", text: "Listed\r\n250 2.1.5 Ok \u0007see https://bl.test/q/127.0.0.9");
        await using var server = await Server(dns, "bl.test");

        Assert.Equal("550 5.7.1 <joe@hosted.test>: Service unavailable; client [127.0.0.9] blocked using bl.test; Listed??250 2.1.5 Ok ?see https://bl.test/q/127.0.0.9",
            await RcptFrom(server, "127.0.0.9"));
        Assert.Equal("250 2.1.5 Ok", await RcptFrom(server, "127.0.0.10")); // not listed
        Assert.Contains(server.Log, l => l.Contains("dnsbl client=127.0.0.9 listed in bl.test answer=127.0.0.2 action=Rcpt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_list_at_connect_refuses_instead_of_the_greeting()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        List(dns, "127.0.0.9", "early.test", text: "go away");
        await using var server = await Server(dns, "early.test=connect");
        await using (var stream = await server.ConnectAsync("127.0.0.9"))
        {
            var reader = new ReplyReader(stream);
            Assert.Equal("554 5.7.1 Service unavailable; client [127.0.0.9] blocked using early.test; go away", await reader.ReadLineAsync());
            Assert.Null(await reader.ReadLineAsync()); // closed
        }
        await using var other = await SmtpTalk.OpenAsync(server, "127.0.0.10");
    }

    [Fact]
    public async Task Error_answers_and_DNS_failures_never_refuse()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        List(dns, "127.0.0.9", "zen.test", "127.255.255.254", "Error: open resolver; https://check.spamhaus.org/returnc/pub/");
        List(dns, "127.0.0.10", "zen.test", "127.255.255.255");
        List(dns, "127.0.0.11", "zen.test", "192.0.2.1"); // a resolver that answers every name with an ad server
        dns.Fail(DnsblChecker.ReversedName(IPAddress.Parse("127.0.0.12")) + ".zen.test"); // SERVFAIL
        dns.Fail(DnsblChecker.ReversedName(IPAddress.Parse("127.0.0.13")) + ".zen.test", -1); // no answer at all
        List(dns, "127.0.0.14", "zen.test"); // the control: really listed
        await using var server = await Server(dns, "zen.test");

        foreach (var client in new[] { "127.0.0.9", "127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13" })
            Assert.Equal("250 2.1.5 Ok", await RcptFrom(server, client));
        Assert.StartsWith("550 5.7.1 ", await RcptFrom(server, "127.0.0.14"));
        Assert.Contains(server.Log, l => l.Contains("dnsbl client=127.0.0.9 not known: zen.test: error answer 127.255.255.254", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Relay_authenticated_submission_and_allowlisted_clients_are_exempt()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        foreach (var client in new[] { "127.0.0.9", "127.0.0.10", "127.0.0.11", "127.0.0.12" })
            List(dns, client, "bl.test");
        List(dns, "127.0.0.12", "wl.test", "127.0.10.2");
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "relay allow 127.0.0.9/32"], $"--Dns:Servers={dns.Setting}",
            "--Policy:Dnsbl=bl.test", "--Policy:Dnswl=wl.test");

        Assert.Equal("250 2.1.5 Ok", await RcptFrom(server, "127.0.0.9")); // a relay rule
        Assert.Equal("250 2.1.5 Ok", await RcptFrom(server, "127.0.0.12")); // the allowlist
        Assert.DoesNotContain($"{DnsblChecker.ReversedName(IPAddress.Parse("127.0.0.12"))}.bl.test A", dns.Questions); // not even asked
        Assert.StartsWith("550 5.7.1 ", await RcptFrom(server, "127.0.0.11"));

        // AUTH on port 25 (after STARTTLS) and the submission port, from listed addresses.
        using (var c = new SmtpClient { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000, LocalEndPoint = new IPEndPoint(IPAddress.Parse("127.0.0.10"), 0) })
        {
            await c.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.StartTls);
            await c.AuthenticateAsync("joe@hosted.test", "pw");
            await c.SendAsync(Message());
            await c.DisconnectAsync(true);
        }
        using (var c = new SmtpClient { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000, LocalEndPoint = new IPEndPoint(IPAddress.Parse("127.0.0.11"), 0) })
        {
            await c.ConnectAsync(server.Submission.Address.ToString(), server.Submission.Port, SecureSocketOptions.StartTls);
            await c.AuthenticateAsync("joe@hosted.test", "pw");
            await c.SendAsync(Message());
            await c.DisconnectAsync(true);
        }
        Assert.Equal(2, server.Messages.Count);
    }

    [Fact]
    public async Task A_mark_list_accepts_and_adds_a_header()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        List(dns, "127.0.0.9", "score.test", "127.0.0.4");
        await using var server = await Server(dns, "score.test=mark");
        await using (var talk = await SmtpTalk.OpenAsync(server, "127.0.0.9"))
        {
            Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<someone@remote.test>"));
            Assert.StartsWith("250", await talk.SendAsync("RCPT TO:<joe@hosted.test>"));
            Assert.StartsWith("250", await talk.DataAsync("Subject: hi\r\n\r\nhello\r\n"));
        }
        var body = Body(Assert.Single(server.Messages));
        Assert.StartsWith("X-Mailward-DNSBL: client [127.0.0.9] listed in score.test (127.0.0.4)\r\nReceived: ", body);
    }

    [Fact]
    public async Task IPv6_clients_are_asked_by_their_reversed_nibbles()
    {
        Assert.Equal("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4",
            DnsblChecker.ReversedName(IPAddress.Parse("4321:0:1:2:3:4:567:89ab"))); // RFC 5782 §2.4's example
        Assert.Equal("2.0.0.127", DnsblChecker.ReversedName(IPAddress.Parse("::ffff:127.0.0.2")));

        await using var dns = new DnsTestServer(DnsAddress);
        dns.Add("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.bl.test", "A", "127.0.0.2");
        var checker = new DnsblChecker(new PolicyDnsResolver(new PolicyDnsOptions([dns.Endpoint], TimeSpan.FromSeconds(1), 0, 10, TimeSpan.FromHours(1))),
            new DnsblOptions([new DnsblZone("bl.test", DnsblAction.Rcpt)], []));
        Assert.Equal("bl.test", Assert.Single((await checker.CheckAsync(IPAddress.Parse("4321:0:1:2:3:4:567:89ab"))).Listings).Zone);
        Assert.Empty((await checker.CheckAsync(IPAddress.Parse("4321:0:1:2:3:4:567:89ac"))).Listings);
    }

    private static MimeMessage Message()
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("joe@hosted.test"));
        m.To.Add(MailboxAddress.Parse("joe@hosted.test"));
        m.Subject = "from a listed address";
        m.Body = new TextPart("plain") { Text = "hello" };
        return m;
    }

    private static string Body(QueuedMessage m)
    {
        using var s = QueueStore.OpenBody(m);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return Encoding.ASCII.GetString(ms.ToArray());
    }
}
