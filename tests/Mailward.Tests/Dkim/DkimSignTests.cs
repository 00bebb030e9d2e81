// DKIM signing on the queue's way out, end to end: mail to a remote address leaves through the
// smarthost (a TestMta on loopback) signed for a From: domain with a key (RSA, Ed25519), unsigned
// for one without; dkimpy verifies what arrived against the key's record, and a changed byte fails.
// A forward is signed on its way out too. OpenDKIM's opendkim-testmsg verifies what Mailward signed
// (RSA and Ed25519) against the test's DNS server, and signs with Mailward's key file as it is
// (rsa-sha1, its only choice): dkimpy verifies that with Mailward's record, Mailward refuses sha1.
using System.Diagnostics;
using System.Net;
using System.Text;
using Mailward.Core.Dkim;
using Mailward.Core.PolicyDns;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Dkim;

public sealed class DkimSignTests
{
    private static string Mail(string from, string to, string subject) => $"""
        From: {from}
        To: {to}
        Subject: {subject}
        Date: Sun, 29 Nov 2026 10:00:00 +0000
        Message-ID: <{subject.Replace(' ', '-')}@mailward.test>
        List-Unsubscribe: <https://hosted.test/u/1>
        List-Unsubscribe-Post: List-Unsubscribe=One-Click
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary="b1"

        --b1
        Content-Type: text/plain; charset=us-ascii

        .a line with a leading dot
          spaced    text	

        --b1
        Content-Type: text/html; charset=us-ascii

        <p>hello</p>
        --b1--

        """.ReplaceLineEndings("\r\n");

    private static async Task SendAsync(ServerFixture server, string from, string to, string subject)
    {
        await using var talk = await SmtpTalk.OpenAsync(server, "127.0.0.1"); // a relay client
        Assert.StartsWith("250", await talk.SendAsync($"MAIL FROM:<{from}>"));
        Assert.StartsWith("250", await talk.SendAsync($"RCPT TO:<{to}>"));
        Assert.StartsWith("250", await talk.DataAsync(Mail(from, to, subject)));
    }

    private static byte[] Arrived(TestMta mta, string subject) =>
        mta.Received.Single(m => Encoding.ASCII.GetString(m.Data).Contains("Subject: " + subject, StringComparison.Ordinal)).Data;

    /// <summary>An active RSA key (s1) for hosted.test and an Ed25519 key (e1) for edkey.test; their DNS records by name.</summary>
    private static Dictionary<string, string> MakeKeys(ServerFixture server)
    {
        var store = new DkimKeyStore(server.DataPath);
        var rsa = DkimKeyStore.Generate("hosted.test", "s1", 2048, DateTimeOffset.UtcNow);
        var ed = DkimKeyStore.Generate("edkey.test", "e1", null, DateTimeOffset.UtcNow);
        foreach (var k in new[] { rsa, ed })
        {
            store.Save(k);
            store.Activate(k.Domain, k.Selector);
        }
        return new Dictionary<string, string> { ["s1._domainkey.hosted.test"] = rsa.Record, ["e1._domainkey.edkey.test"] = ed.Record };
    }

    [FactWhenDkimpy]
    public async Task Remote_mail_is_signed_for_a_domain_with_a_key_and_dkimpy_verifies_it()
    {
        await using var mta = new TestMta();
        await using var server = await ServerFixture.StartAsync(["domain hosted.test", "domain edkey.test", "domain nokey.test", "alias fwd@hosted.test &someone@remote.test"],
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        var records = MakeKeys(server);

        await SendAsync(server, "ann@hosted.test", "bob@remote.test", "rsa signed");
        await SendAsync(server, "eve@edkey.test", "bob@remote.test", "ed signed");
        await SendAsync(server, "nat@nokey.test", "bob@remote.test", "not signed");
        await SendAsync(server, "ann@hosted.test", "fwd@hosted.test", "forwarded"); // local, then out through the forward
        await mta.WaitForAsync(4);

        var signed = Arrived(mta, "rsa signed");
        var text = Encoding.ASCII.GetString(signed);
        Assert.StartsWith("DKIM-Signature: ", text);
        foreach (var tag in new[] { "d=hosted.test", "s=s1", "a=rsa-sha256", "c=relaxed/relaxed" })
            Assert.Contains(tag, text[..text.IndexOf("\r\nReceived:", StringComparison.Ordinal)], StringComparison.Ordinal);
        var h = Encoding.ASCII.GetString(signed).Split("h=")[1].Split(';')[0].Replace("\r\n\t", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant();
        foreach (var field in new[] { "from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post" })
            Assert.Contains(field, h.Split(':'));
        Assert.Equal((true, "hosted.test", "s1"), await Dkimpy.VerifyAsync(signed, records));
        Assert.Equal((true, "edkey.test", "e1"), await Dkimpy.VerifyAsync(Arrived(mta, "ed signed"), records));
        Assert.DoesNotContain("DKIM-Signature", Encoding.ASCII.GetString(Arrived(mta, "not signed")), StringComparison.OrdinalIgnoreCase);
        var forwarded = Arrived(mta, "forwarded");
        Assert.StartsWith("DKIM-Signature: ", Encoding.ASCII.GetString(forwarded));
        Assert.True((await Dkimpy.VerifyAsync(forwarded, records)).Ok);

        var changed = Encoding.ASCII.GetBytes(text.Replace("<p>hello</p>", "<p>hallo</p>", StringComparison.Ordinal));
        var (ok, error) = await Dkimpy.VerifyWithErrorAsync(changed, records);
        Assert.False(ok);
        Assert.True(error.Length == 0 || error.Contains("body hash", StringComparison.OrdinalIgnoreCase), error);
        Assert.Contains($"SIZE={signed.Length}", mta.Received.Single(m => m.Data == signed).MailCommand);
    }

    [FactWhenOpenDkim]
    public async Task Remote_mail_signed_by_Mailward_verifies_with_OpenDKIM_and_a_changed_byte_fails()
    {
        await using var mta = new TestMta();
        await using var server = await ServerFixture.StartAsync(["domain hosted.test", "domain edkey.test"],
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        var records = MakeKeys(server);
        await SendAsync(server, "ann@hosted.test", "bob@remote.test", "rsa for opendkim");
        await SendAsync(server, "eve@edkey.test", "bob@remote.test", "ed for opendkim");
        await mta.WaitForAsync(2);

        var signed = Arrived(mta, "rsa for opendkim");
        Assert.Equal((true, ""), await OpenDkim.VerifyAsync(signed, records));
        // Ed25519-SHA256 (RFC 8463), which OpenDKIM 2.11 verifies too.
        Assert.Equal((true, ""), await OpenDkim.VerifyAsync(Arrived(mta, "ed for opendkim"), records));
        var changed = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(signed).Replace("<p>hello</p>", "<p>hallo</p>", StringComparison.Ordinal));
        var (ok, error) = await OpenDkim.VerifyAsync(changed, records);
        Assert.False(ok);
        Assert.Contains("bad signature", error, StringComparison.OrdinalIgnoreCase);
        // The wrong key in DNS fails as well: OpenDKIM really asked the test's server.
        var wrong = DkimKeyStore.Generate("hosted.test", "s1", 2048, DateTimeOffset.UtcNow);
        Assert.False((await OpenDkim.VerifyAsync(signed, new Dictionary<string, string> { ["s1._domainkey.hosted.test"] = wrong.Record })).Ok);
    }

    [FactWhenInstalled("opendkim-testmsg", "opendkim-tools")]
    public async Task OpenDKIM_signs_with_Mailwards_key_file_and_dkimpy_verifies_it_with_Mailwards_record()
    {
        using var tmp = new TempFolder();
        var store = new DkimKeyStore(tmp.Path);
        var key = DkimKeyStore.Generate("hosted.test", "od1", 2048, DateTimeOffset.UtcNow);
        store.Save(key);
        var psi = new ProcessStartInfo("opendkim-testmsg") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-C", "-d", "hosted.test", "-s", "od1", "-k", Path.Combine(store.Folder, "hosted.test", "od1.key") })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(Mail("ann@hosted.test", "bob@remote.test", "opendkim"));
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await error);
        var signed = Encoding.ASCII.GetBytes((await output).ReplaceLineEndings("\r\n"));
        Assert.StartsWith("DKIM-Signature:", Encoding.ASCII.GetString(signed));

        await using var dns = new DnsTestServer(IPAddress.Parse("127.0.0.58"));
        dns.Add("od1._domainkey.hosted.test", "TXT", key.Record);
        var verifier = new DkimMessageVerifier(new DkimKeyLocator(new PolicyDnsResolver(new PolicyDnsOptions([dns.Endpoint], TimeSpan.FromSeconds(2), 0, 100, TimeSpan.FromHours(1)))), DkimOptions.Default);
        // opendkim-testmsg signs with rsa-sha1 and has no option for another algorithm: dkimpy verifies
        // that (the key file and Mailward's record agree), Mailward refuses rsa-sha1 (RFC 8301 §3.1).
        Assert.Contains("a=rsa-sha1;", Encoding.ASCII.GetString(signed), StringComparison.Ordinal);
        Assert.True((await Dkimpy.VerifyAsync(signed, new Dictionary<string, string> { ["od1._domainkey.hosted.test"] = key.Record })).Ok);
        var wrong = DkimKeyStore.Generate("hosted.test", "od1", 2048, DateTimeOffset.UtcNow);
        Assert.False((await Dkimpy.VerifyAsync(signed, new Dictionary<string, string> { ["od1._domainkey.hosted.test"] = wrong.Record })).Ok);
        var result = Assert.Single(await verifier.VerifyAsync(new MemoryStream(signed)));
        Assert.Equal((DkimStatus.PermError, "hosted.test", "od1"), (result.Status, result.Domain, result.Selector));
        Assert.Contains("rsa-sha1", result.Reason, StringComparison.Ordinal);
    }
}
