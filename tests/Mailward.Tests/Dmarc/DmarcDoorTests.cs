// DMARC at the SMTP door over real sockets, with the tests' DNS server on loopback: a stranger's
// message that fails a p=reject domain's DMARC is refused with 550 5.7.1 before the 250, one that
// fails p=quarantine lands in the recipient's Junk folder, one that passes in the INBOX; each
// delivered message carries this host's Authentication-Results on top, and such a field forged by
// the client (or an X-Mailward-* mark) is gone while another host's is kept.
using System.Net;
using System.Text;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Dmarc;

public sealed class DmarcDoorTests : IDisposable
{
    private static readonly IPAddress DnsAddress = IPAddress.Parse("127.0.0.58");
    private readonly TempFolder _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static DnsTestServer Zone(DnsTestServer dns) => dns
        // 127.0.0.10 may send for both domains; 127.0.0.9 for neither (SPF fail, and unaligned anyway).
        .Add("reject.test", "TXT", "v=spf1 ip4:127.0.0.10 -all").Add("_dmarc.reject.test", "TXT", "v=DMARC1; p=reject")
        .Add("quar.test", "TXT", "v=spf1 ip4:127.0.0.10 -all").Add("_dmarc.quar.test", "TXT", "v=DMARC1; p=quarantine");

    private async Task<ServerFixture> StartAsync(DnsTestServer dns, string mode = "enforce")
    {
        var suffixes = _tmp.Combine("public_suffix_list.dat");
        await File.WriteAllTextAsync(suffixes, "// the tests' list\ntest\n");
        return await ServerFixture.StartAsync(["user joe@hosted.test", "relay allow 127.0.0.1/32"],
            $"--Dns:Servers={dns.Setting}", "--Dns:Retries=0", "--Spf:Mode=mark", "--Dkim:Verify=true", $"--Dmarc:Mode={mode}",
            $"--Dmarc:PublicSuffixList={suffixes}", "--Delivery:Enabled=true");
    }

    private static async Task<string> Send(ServerFixture server, string client, string from, string headers = "", string mailFrom = "")
    {
        await using var talk = await SmtpTalk.OpenAsync(server, client);
        Assert.StartsWith("250", await talk.SendAsync($"MAIL FROM:<{(mailFrom.Length > 0 ? mailFrom : from)}>"));
        Assert.StartsWith("250", await talk.SendAsync("RCPT TO:<joe@hosted.test>"));
        return await talk.DataAsync($"{headers}From: {from}\r\nTo: joe@hosted.test\r\nSubject: test from {client}\r\n\r\nHello Joe\r\n");
    }

    private static string[] Folder(ServerFixture server, string folder = "")
    {
        var maildir = DeliveryTestMail.Maildir(server, "joe@hosted.test");
        // Maildir files keep LF line ends (delivery turns the queue's CRLF into them).
        return DeliveryTestMail.NewMail(folder.Length == 0 ? maildir : Path.Combine(maildir, folder)).Select(File.ReadAllText).ToArray();
    }

    [Fact]
    public async Task Reject_is_refused_quarantine_goes_to_Junk_and_a_pass_to_the_INBOX_each_with_Authentication_Results_on_top()
    {
        await using var dns = Zone(new DnsTestServer(DnsAddress));
        await using var server = await StartAsync(dns);

        var refused = await Send(server, "127.0.0.9", "ann@reject.test");
        Assert.StartsWith("550 5.7.1 ", refused);
        Assert.Contains("reject.test", refused, StringComparison.Ordinal);
        // A second address in From: is no way around the first one's policy (RFC 7489 §6.6.1).
        Assert.StartsWith("550 5.7.1 ", await Send(server, "127.0.0.9", "ann@reject.test, joe@hosted.test", mailFrom: "ann@reject.test"));

        Assert.StartsWith("250", await Send(server, "127.0.0.9", "bob@quar.test"));
        Assert.StartsWith("250", await Send(server, "127.0.0.10", "ann@reject.test"));
        await DeliveryTestMail.SettleAsync(server);

        var junk = Assert.Single(Folder(server, ".Junk"));
        Assert.StartsWith("Return-Path: <bob@quar.test>", junk, StringComparison.Ordinal);
        Assert.Contains("Authentication-Results: mail.test;\n\tspf=fail smtp.mailfrom=bob@quar.test;\n\tdkim=none;\n\tdmarc=fail (p=quarantine dis=quarantine) header.from=quar.test\n"
            + "X-Mailward-Quarantine: DMARC policy of quar.test (p=quarantine)\nReceived-SPF: fail", junk, StringComparison.Ordinal);
        Assert.Contains("Junk", await File.ReadAllTextAsync(Path.Combine(DeliveryTestMail.Maildir(server, "joe@hosted.test"), "mailward-subscriptions")),
            StringComparison.Ordinal);

        var inbox = Assert.Single(Folder(server));
        Assert.Contains("Authentication-Results: mail.test;\n\tspf=pass smtp.mailfrom=ann@reject.test;\n\tdkim=none;\n\tdmarc=pass (p=reject dis=none) header.from=reject.test\n",
            inbox, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Mailward-Quarantine", inbox, StringComparison.Ordinal);
        Assert.Contains(server.Log, l => l.Contains("dmarc client=127.0.0.9 from=reject.test result=fail policy=reject disposition=reject action=reject", StringComparison.Ordinal));
        Assert.Contains(server.Log, l => l.Contains("dmarc client=127.0.0.9 from=quar.test result=fail policy=quarantine disposition=quarantine action=quarantine", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Forged_fields_that_claim_this_host_are_removed_and_another_hosts_are_kept()
    {
        await using var dns = Zone(new DnsTestServer(DnsAddress));
        await using var server = await StartAsync(dns);
        var forged = "Authentication-Results: MAIL.TEST;\r\n dmarc=pass header.from=quar.test\r\n"
            + "X-Mailward-Quarantine: nothing to see\r\n"
            + "Authentication-Results: mx.elsewhere.test; spf=pass smtp.mailfrom=bob@quar.test\r\n"
            + "Authentication-Results: (a comment) \"mail.test\"; dkim=pass\r\n";
        // SPF fails and the forged results say pass: the door's own verdict wins (Junk), and only it is believed.
        Assert.StartsWith("250", await Send(server, "127.0.0.9", "bob@quar.test", forged));
        // A relay client's message is not checked: it gets no Authentication-Results, and the forged ones go all the same.
        Assert.StartsWith("250", await Send(server, "127.0.0.1", "bob@quar.test", forged));
        await DeliveryTestMail.SettleAsync(server);

        var junk = Assert.Single(Folder(server, ".Junk"));
        Assert.Equal(1, Count(junk, "Authentication-Results: mail.test;"));
        Assert.Contains("dmarc=fail (p=quarantine dis=quarantine) header.from=quar.test", junk, StringComparison.Ordinal);
        Assert.Contains("Authentication-Results: mx.elsewhere.test; spf=pass smtp.mailfrom=bob@quar.test\n", junk, StringComparison.Ordinal);
        Assert.DoesNotContain("MAIL.TEST", junk, StringComparison.Ordinal);
        Assert.DoesNotContain("\"mail.test\"", junk, StringComparison.Ordinal);
        Assert.DoesNotContain("nothing to see", junk, StringComparison.Ordinal);
        Assert.DoesNotContain(" dmarc=pass header.from=quar.test", junk, StringComparison.Ordinal);

        var inbox = Assert.Single(Folder(server)); // the body's quarantine mark counted for nothing
        Assert.DoesNotContain("Authentication-Results: mail.test", inbox, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("nothing to see", inbox, StringComparison.Ordinal);
        Assert.Contains("Authentication-Results: mx.elsewhere.test;", inbox, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_mark_mode_a_reject_policy_is_only_recorded()
    {
        await using var dns = Zone(new DnsTestServer(DnsAddress));
        await using var server = await StartAsync(dns, "mark");
        Assert.StartsWith("250", await Send(server, "127.0.0.9", "ann@reject.test"));
        await DeliveryTestMail.SettleAsync(server);
        var inbox = Assert.Single(Folder(server));
        Assert.Contains("dmarc=fail (p=reject dis=reject) header.from=reject.test", inbox, StringComparison.Ordinal);
        Assert.Empty(Folder(server, ".Junk"));
    }

    private static int Count(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal))
            n++;
        return n;
    }
}
