// DKIM verification at the SMTP door over real sockets: a stranger on another loopback address
// sends dkimpy-signed mail, the key record comes from the tests' DNS server, and each signature's
// result is logged (event 2403) before the 250; a changed message is logged as a fail and still
// accepted (DKIM alone refuses nothing), and a relay client's mail is not checked.
using System.Net;
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Dkim;

public sealed class DkimDoorTests
{
    private static readonly IPAddress DnsAddress = IPAddress.Parse("127.0.0.57");

    private static async Task<string> Send(ServerFixture server, string client, byte[] message)
    {
        await using var talk = await SmtpTalk.OpenAsync(server, client);
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<ann@signer.test>"));
        Assert.StartsWith("250", await talk.SendAsync("RCPT TO:<joe@hosted.test>"));
        return await talk.DataAsync(Encoding.ASCII.GetString(message));
    }

    [FactWhenDkimpy]
    public async Task A_strangers_signed_mail_is_verified_before_the_250_and_logged()
    {
        var rsa = TestDkimKey.Rsa();
        var ed = TestDkimKey.Ed25519();
        await using var dns = new DnsTestServer(DnsAddress);
        dns.Add("r1._domainkey.signer.test", "TXT", rsa.Record).Add("e1._domainkey.signer.test", "TXT", ed.Record);
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "relay allow 127.0.0.11/32"],
            $"--Dns:Servers={dns.Setting}", "--Dkim:Verify=true", "--Dns:Retries=0");
        // Signed twice, as a list that re-signs: RSA by the author's domain, then Ed25519 on top.
        var signed = await Dkimpy.SignAsync(await Dkimpy.SignAsync(Dkimpy.Crlf(DkimVerifyTests.Message), rsa, "signer.test", "r1"), ed, "signer.test", "e1");
        Assert.StartsWith("250", await Send(server, "127.0.0.9", signed));
        Assert.Contains(server.Log, l => l.Contains("dkim client=127.0.0.9 domain=signer.test selector=e1 algorithm=ed25519-sha256 result=pass", StringComparison.Ordinal));
        Assert.Contains(server.Log, l => l.Contains("dkim client=127.0.0.9 domain=signer.test selector=r1 algorithm=rsa-sha256 result=pass", StringComparison.Ordinal));

        var changed = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(signed).Replace("Hello Joe", "Hello Jim", StringComparison.Ordinal));
        Assert.StartsWith("250", await Send(server, "127.0.0.10", changed)); // DKIM alone refuses nothing
        Assert.Contains(server.Log, l => l.Contains("dkim client=127.0.0.10 domain=signer.test selector=r1 algorithm=rsa-sha256 result=fail", StringComparison.Ordinal));

        // Larger than Queue:InlineBodyBytes: verified from the queue's tmp file while it is being written.
        var big = DkimVerifyTests.Message.Replace("Hello Joe,", "Hello Joe,\n" + string.Concat(Enumerable.Repeat("a long line of the body to make it spill to a file\n", 3000)),
            StringComparison.Ordinal);
        var bigSigned = await Dkimpy.SignAsync(Dkimpy.Crlf(big), ed, "signer.test", "e1");
        Assert.True(bigSigned.Length > 100_000);
        Assert.StartsWith("250", await Send(server, "127.0.0.12", bigSigned));
        Assert.Contains(server.Log, l => l.Contains("dkim client=127.0.0.12 domain=signer.test selector=e1 algorithm=ed25519-sha256 result=pass", StringComparison.Ordinal));

        Assert.StartsWith("250", await Send(server, "127.0.0.11", signed)); // a relay client is not checked
        Assert.DoesNotContain(server.Log, l => l.Contains("dkim client=127.0.0.11", StringComparison.Ordinal));
        Assert.Equal(4, server.Messages.Count);
    }
}
