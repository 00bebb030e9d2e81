// ARC sealing (RFC 8617) end to end: a stranger's message that the door checked (SPF, DKIM, DMARC)
// and a forward sends on to a remote host leaves with an ARC set made with Arc:SealDomain's key, and
// dkimpy (Debian's python3-dkim, an independent implementation) validates the chain; a relay
// client's message, which the door did not check, is forwarded unsealed.
using System.Net;
using System.Text;
using Mailward.Core.Dkim;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Dkim;

public sealed class ArcSealTests
{
    private static readonly IPAddress DnsAddress = IPAddress.Parse("127.0.0.59");

    private static async Task SendAsync(ServerFixture server, string client, string subject)
    {
        await using var talk = await SmtpTalk.OpenAsync(server, client);
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<ann@sender.test>"));
        Assert.StartsWith("250", await talk.SendAsync("RCPT TO:<fwd@hosted.test>"));
        Assert.StartsWith("250", await talk.DataAsync(
            $"From: Ann <ann@sender.test>\r\nTo: fwd@hosted.test\r\nSubject: {subject}\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@sender.test>\r\n\r\nHello\r\n"));
    }

    [FactWhenDkimpy]
    public async Task A_checked_message_forwarded_to_a_remote_host_is_sealed_and_dkimpy_validates_the_chain()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        dns.Add("sender.test", "TXT", "v=spf1 ip4:127.0.0.9 -all");
        await using var mta = new TestMta();
        await using var server = await ServerFixture.StartAsync(["domain hosted.test", "alias fwd@hosted.test &someone@remote.test", "relay allow 127.0.0.1/32"],
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}", $"--Dns:Servers={dns.Setting}", "--Dns:Retries=0",
            "--Spf:Mode=mark", "--Dkim:Verify=true", "--Arc:SealDomain=hosted.test");
        var key = DkimKeyStore.Generate("hosted.test", "arc1", 2048, DateTimeOffset.UtcNow);
        var store = new DkimKeyStore(server.DataPath);
        store.Save(key);
        store.Activate(key.Domain, key.Selector);
        var records = new Dictionary<string, string> { ["arc1._domainkey.hosted.test"] = key.Record };

        await SendAsync(server, "127.0.0.9", "checked");
        await SendAsync(server, "127.0.0.1", "unchecked");
        await mta.WaitForAsync(2);

        var sealedOne = mta.Received.Single(m => Encoding.ASCII.GetString(m.Data).Contains("Subject: checked", StringComparison.Ordinal)).Data;
        var text = Encoding.ASCII.GetString(sealedOne);
        Assert.Contains("ARC-Seal: i=1;", text, StringComparison.Ordinal);
        Assert.Contains("cv=none", text, StringComparison.Ordinal);
        Assert.Contains("d=hosted.test", text, StringComparison.Ordinal);
        var aar = text[text.IndexOf("ARC-Authentication-Results:", StringComparison.Ordinal)..];
        aar = aar[..aar.IndexOf("\r\n", aar.IndexOf("arc=none", StringComparison.Ordinal), StringComparison.Ordinal)];
        Assert.Contains("i=1; mail.test;", aar, StringComparison.Ordinal);
        Assert.Contains("spf=pass smtp.mailfrom=ann@sender.test", aar, StringComparison.Ordinal);
        var (chain, comment) = await Dkimpy.ArcVerifyAsync(sealedOne, records);
        Assert.True(chain == "pass", comment);

        // One changed byte in the body breaks the ARC-Message-Signature: dkimpy says fail.
        var changed = Encoding.ASCII.GetBytes(text.Replace("Hello", "Hallo", StringComparison.Ordinal));
        Assert.Equal("fail", (await Dkimpy.ArcVerifyAsync(changed, records)).Chain);

        var unsealed = Encoding.ASCII.GetString(mta.Received.Single(m => Encoding.ASCII.GetString(m.Data).Contains("Subject: unchecked", StringComparison.Ordinal)).Data);
        Assert.DoesNotContain("ARC-Seal", unsealed, StringComparison.Ordinal);
        Assert.Contains($"SIZE={sealedOne.Length}", mta.Received.Single(m => m.Data == sealedOne).MailCommand, StringComparison.Ordinal);
    }
}
