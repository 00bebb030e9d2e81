// SPF at the SMTP door over real sockets, strangers on other loopback addresses and the DNS on
// loopback: mark (the default) accepts a fail and records every result in Received-SPF above the
// Received line; reject refuses a fail at MAIL with 550 5.7.23 and the domain's explanation, but
// never softfail or a DNS failure; relay clients are not checked; the null sender is checked as
// postmaster@HELO (RFC 7208 §2.4).
using System.Net;
using System.Text;
using Mailward.Core.Queue;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Spf;

public sealed class SpfDoorTests
{
    private static readonly IPAddress DnsAddress = IPAddress.Parse("127.0.0.55");

    private static DnsTestServer Dns()
    {
        var dns = new DnsTestServer(DnsAddress);
        dns.Add("only-nine.test", "TXT", "v=spf1 ip4:127.0.0.9 -all exp=why.only-nine.test").Add("why.only-nine.test", "TXT", "%{i} may not send for %{d}");
        dns.Add("soft.test", "TXT", "v=spf1 ip4:127.0.0.9 ~all");
        dns.Add("stranger.test", "TXT", "v=spf1 -all").Add("stranger.test", "A", "127.0.0.10");
        dns.Fail("broken.test");
        return dns;
    }

    private static Task<ServerFixture> Server(DnsTestServer dns, string mode, params string[] fixtures) =>
        ServerFixture.StartAsync(["user joe@hosted.test", .. fixtures], $"--Dns:Servers={dns.Setting}", $"--Spf:Mode={mode}", "--Dns:TimeoutMilliseconds=2000", "--Dns:Retries=0");

    private static async Task<string> Send(ServerFixture server, string client, string sender, string helo = "client.test")
    {
        await using var talk = await SmtpTalk.OpenAsync(server, client);
        Assert.StartsWith("250", await talk.SendAsync($"EHLO {helo}")); // a second EHLO, with the name under test
        var mail = await talk.SendAsync($"MAIL FROM:<{sender}>");
        if (!mail.StartsWith("250", StringComparison.Ordinal))
            return mail;
        Assert.StartsWith("250", await talk.SendAsync("RCPT TO:<joe@hosted.test>"));
        return await talk.DataAsync("Subject: spf\r\n\r\nhello\r\n");
    }

    [Fact]
    public async Task Mark_accepts_and_records_each_result_above_Received()
    {
        await using var dns = Dns();
        await using var server = await Server(dns, "mark");
        Assert.StartsWith("250", await Send(server, "127.0.0.9", "a@only-nine.test"));
        Assert.StartsWith("250", await Send(server, "127.0.0.10", "a@only-nine.test")); // a fail, only marked
        Assert.StartsWith("250", await Send(server, "127.0.0.10", "a@broken.test"));
        var bodies = server.Messages.Select(Body).ToList();
        // Authentication-Results (RFC 8601) on top, then Received-SPF above Received (RFC 7208 §9.1).
        Assert.StartsWith("Authentication-Results: mail.test;\r\n\tspf=pass smtp.mailfrom=a@only-nine.test\r\n" +
            "Received-SPF: pass (mail.test: domain of a@only-nine.test designates 127.0.0.9 as permitted sender)\r\n" +
            "\tclient-ip=127.0.0.9; envelope-from=\"a@only-nine.test\"; helo=client.test;\r\n\treceiver=mail.test; identity=mailfrom;\r\nReceived: ", bodies[0]);
        Assert.StartsWith("Authentication-Results: mail.test;\r\n\tspf=fail smtp.mailfrom=a@only-nine.test\r\n" +
            "Received-SPF: fail (mail.test: domain of a@only-nine.test does not designate 127.0.0.10 as permitted sender)", bodies[1]);
        Assert.StartsWith("Authentication-Results: mail.test;\r\n\tspf=temperror smtp.mailfrom=a@broken.test\r\n" +
            "Received-SPF: temperror (mail.test: error in processing during lookup of a@broken.test)", bodies[2]);
        Assert.Contains("\tproblem=", bodies[2]);
        Assert.Contains(server.Log, l => l.Contains("spf client=127.0.0.10 identity=mailfrom domain=only-nine.test result=fail", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reject_refuses_a_fail_with_the_explanation_and_nothing_else()
    {
        await using var dns = Dns();
        await using var server = await Server(dns, "reject", "relay allow 127.0.0.11/32");
        Assert.Equal("550 5.7.23 <a@only-nine.test>: Sender address rejected: SPF fail: 127.0.0.10 may not send for only-nine.test",
            await Send(server, "127.0.0.10", "a@only-nine.test"));
        Assert.StartsWith("250", await Send(server, "127.0.0.9", "a@only-nine.test"));
        Assert.StartsWith("250", await Send(server, "127.0.0.10", "a@soft.test")); // softfail: marked only
        Assert.StartsWith("250", await Send(server, "127.0.0.10", "a@broken.test")); // temperror never refuses
        Assert.StartsWith("250", await Send(server, "127.0.0.11", "a@only-nine.test")); // a relay client is not checked
        var last = Body(server.Messages[^1]);
        Assert.DoesNotContain("Received-SPF", last);
        Assert.DoesNotContain("Authentication-Results", last);
    }

    [Fact]
    public async Task The_null_sender_is_checked_as_postmaster_at_the_HELO_name()
    {
        await using var dns = Dns();
        await using var server = await Server(dns, "reject");
        Assert.StartsWith("550 5.7.23 <>: ", await Send(server, "127.0.0.9", "", helo: "stranger.test")); // -all for the HELO name
        Assert.StartsWith("250", await Send(server, "127.0.0.9", "", helo: "client.test")); // no SPF for it: none
        var body = Body(Assert.Single(server.Messages));
        Assert.StartsWith("Authentication-Results: mail.test;\r\n\tspf=none smtp.helo=client.test\r\n" +
            "Received-SPF: none (mail.test: domain of postmaster@client.test does not designate permitted sender hosts)", body);
        Assert.Contains("identity=helo;", body);
    }

    private static string Body(QueuedMessage m)
    {
        using var s = QueueStore.OpenBody(m);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return Encoding.ASCII.GetString(ms.ToArray());
    }
}
