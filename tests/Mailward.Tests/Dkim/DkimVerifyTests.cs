// DKIM verification (RFC 6376 §6) by Mailward of messages signed by another implementation
// (dkimpy: RSA and Ed25519, relaxed/relaxed), key records served by the tests' DNS server on
// loopback through the policy resolver: a signed message passes, one changed byte in the body or a
// signed header fails, and the key rules Mailward applies itself give their results (no key,
// revoked, RSA under 1024 bits, a DNS failure, an expired x=, rsa-sha1).
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Dkim;
using Mailward.Core.PolicyDns;
using Mailward.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Security;

namespace Mailward.Tests.Dkim;

public sealed class DkimVerifyTests
{
    private static readonly IPAddress DnsAddress = IPAddress.Parse("127.0.0.56");

    internal static readonly string Message = """
        From: Ann Author <ann@signer.test>
        To: joe@hosted.test
        Subject: a signed message
        Date: Sun, 29 Nov 2026 10:00:00 +0000
        Message-ID: <signed-1@signer.test>
        MIME-Version: 1.0
        Content-Type: text/plain; charset=us-ascii

        Hello Joe,
          with  some   spaces	and a tab,   

        and trailing empty lines.


        """;

    private static DkimMessageVerifier Verifier(DnsTestServer dns, TimeProvider? time = null, DkimOptions? options = null) =>
        new(new DkimKeyLocator(new PolicyDnsResolver(new PolicyDnsOptions([dns.Endpoint], TimeSpan.FromMilliseconds(2000), 0, 1000, TimeSpan.FromHours(1)))),
            options ?? DkimOptions.Default, time);

    private static async Task<IReadOnlyList<DkimResult>> VerifyAsync(DkimMessageVerifier verifier, byte[] message)
    {
        using var stream = new MemoryStream(message);
        return await verifier.VerifyAsync(stream);
    }

    [FactWhenDkimpy]
    public async Task Dkimpy_signed_RSA_and_Ed25519_messages_pass_and_one_changed_byte_fails()
    {
        var rsa = TestDkimKey.Rsa();
        var ed = TestDkimKey.Ed25519();
        await using var dns = new DnsTestServer(DnsAddress);
        dns.Add("r1._domainkey.signer.test", "TXT", rsa.Record).Add("e1._domainkey.signer.test", "TXT", ed.Record);
        var verifier = Verifier(dns);
        foreach (var (key, selector) in new[] { (rsa, "r1"), (ed, "e1") })
        {
            var signed = await Dkimpy.SignAsync(Dkimpy.Crlf(Message), key, "signer.test", selector);
            var pass = Assert.Single(await VerifyAsync(verifier, signed));
            Assert.Equal((DkimStatus.Pass, "signer.test", selector, key.Algorithm), (pass.Status, pass.Domain, pass.Selector, pass.Algorithm));
            Assert.Null(pass.Reason);

            var body = Encoding.ASCII.GetString(signed).Replace("Hello Joe", "Hello Jim", StringComparison.Ordinal); // one byte of the body
            Assert.Equal(DkimStatus.Fail, Assert.Single(await VerifyAsync(verifier, Encoding.ASCII.GetBytes(body))).Status);
            var subject = Encoding.ASCII.GetString(signed).Replace("a signed message", "a signed massage", StringComparison.Ordinal); // a signed header
            Assert.Equal(DkimStatus.Fail, Assert.Single(await VerifyAsync(verifier, Encoding.ASCII.GetBytes(subject))).Status);
            // Relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4): whitespace changes inside lines and in header folding still pass.
            var spaced = Encoding.ASCII.GetString(signed).Replace("with  some", "with some", StringComparison.Ordinal)
                .Replace("Subject: a signed message", "Subject:   a signed\r\n  message", StringComparison.Ordinal);
            Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(verifier, Encoding.ASCII.GetBytes(spaced))).Status);
        }
    }

    [FactWhenDkimpy]
    public async Task Key_rules_give_permerror_and_a_DNS_failure_temperror()
    {
        var rsa = TestDkimKey.Rsa();
        var weak = TestDkimKey.Rsa(512);
        await using var dns = new DnsTestServer(DnsAddress);
        dns.Add("revoked._domainkey.signer.test", "TXT", "v=DKIM1; k=rsa; p=")
            .Add("weak._domainkey.signer.test", "TXT", weak.Record)
            .Add("sha1only._domainkey.signer.test", "TXT", "v=DKIM1; h=sha1; " + rsa.Record[8..])
            .Add("garbage._domainkey.signer.test", "TXT", "v=DKIM1; k=rsa; p=bm90IGEga2V5")
            .Fail("broken._domainkey.signer.test");
        var verifier = Verifier(dns);
        async Task<DkimResult> One(TestDkimKey key, string selector) =>
            Assert.Single(await VerifyAsync(verifier, await Dkimpy.SignAsync(Dkimpy.Crlf(Message), key, "signer.test", selector)));

        var missing = await One(rsa, "missing");
        Assert.Equal(DkimStatus.PermError, missing.Status);
        Assert.Contains("no key at missing._domainkey.signer.test", missing.Reason, StringComparison.Ordinal);
        Assert.Contains("revoked", (await One(rsa, "revoked")).Reason, StringComparison.Ordinal);
        var small = await One(weak, "weak");
        Assert.Equal(DkimStatus.PermError, small.Status);
        Assert.Contains("RSA key of 512 bits", small.Reason, StringComparison.Ordinal);
        Assert.Equal(DkimStatus.PermError, (await One(rsa, "sha1only")).Status);
        Assert.Equal(DkimStatus.PermError, (await One(rsa, "garbage")).Status);
        var broken = await One(rsa, "broken");
        Assert.Equal(DkimStatus.TempError, broken.Status);
    }

    [Fact]
    public async Task An_expired_signature_is_permerror_and_rsa_sha1_is_not_accepted()
    {
        using var rsa = RSA.Create(2048);
        await using var dns = new DnsTestServer(DnsAddress);
        dns.Add("m1._domainkey.signer.test", "TXT", "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()));
        var key = DotNetUtilities.GetRsaKeyPair(rsa).Private;
        byte[] Sign(DkimSignatureAlgorithm algorithm, TimeSpan? expires)
        {
            var message = MimeMessage.Load(new MemoryStream(Dkimpy.Crlf(Message)));
            var signer = new DkimSigner(key, "signer.test", "m1", algorithm)
            {
                HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
                BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            };
            if (expires is { } e)
                signer.SignaturesExpireAfter = e;
            signer.Sign(message, ["From", "To", "Subject"]);
            using var ms = new MemoryStream();
            var options = FormatOptions.Default.Clone();
            options.NewLineFormat = NewLineFormat.Dos;
            message.WriteTo(options, ms);
            return ms.ToArray();
        }
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var verifier = Verifier(dns, time);
        var expiring = Sign(DkimSignatureAlgorithm.RsaSha256, TimeSpan.FromHours(1));
        Assert.Equal(DkimStatus.Pass, Assert.Single(await VerifyAsync(verifier, expiring)).Status);
        time.Advance(TimeSpan.FromHours(2));
        var expired = Assert.Single(await VerifyAsync(verifier, expiring));
        Assert.Equal((DkimStatus.PermError, "signature expired"), (expired.Status, expired.Reason));
        var sha1 = Assert.Single(await VerifyAsync(verifier, Sign(DkimSignatureAlgorithm.RsaSha1, null)));
        Assert.Equal(DkimStatus.PermError, sha1.Status);
        Assert.Contains("RFC 8301", sha1.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("DKIM-Signature: v=1\r\nFrom: a@b\r\n\r\n", true)]
    [InlineData("From: a@b\r\ndkim-signature: v=1\r\n\r\n", true)]
    [InlineData("From: a@b\r\nDkIm-SiGnAtUrE:v=1\r\n\r\n", true)]
    [InlineData("From: a@b\r\nX-DKIM-Signature: v=1\r\n\r\n", false)]
    [InlineData("From: a@b\r\nDKIM-Signature-Seen: yes\r\n\r\n", false)]
    [InlineData("From: a@b\r\nSubject: about DKIM-Signature: fields\r\n\r\n", false)]
    [InlineData("From: a@b\r\n\r\n", false)]
    public void A_signature_field_is_found_by_its_name_in_any_case(string header, bool has) =>
        Assert.Equal(has, DkimHeaderBlock.HasSignature(Encoding.ASCII.GetBytes(header)));

    [Fact]
    public async Task No_signature_is_none_and_an_oversized_header_is_neutral_without_a_lookup()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        var verifier = Verifier(dns, options: DkimOptions.Default with { MaxHeaderBytes = 2048 });
        Assert.Empty(await VerifyAsync(verifier, Dkimpy.Crlf(Message)));
        var big = "DKIM-Signature: v=1; a=rsa-sha256; d=signer.test; s=m1; h=from; bh=x; b=y\r\nX-Filler: " + new string('x', 4000) + "\r\n" + Message.ReplaceLineEndings("\r\n");
        var result = Assert.Single(await VerifyAsync(verifier, Encoding.ASCII.GetBytes(big)));
        Assert.Equal(DkimStatus.Neutral, result.Status);
        Assert.Contains("header longer than 2048 bytes", result.Reason, StringComparison.Ordinal);
        Assert.Empty(dns.Questions);
        var malformed = "DKIM-Signature: v=1; a=rsa-sha256; d=signer.test\r\n" + Message.ReplaceLineEndings("\r\n");
        Assert.Equal(DkimStatus.Neutral, Assert.Single(await VerifyAsync(verifier, Encoding.ASCII.GetBytes(malformed))).Status);
    }

    [Fact]
    public async Task A_key_record_is_parsed_once_and_a_revoked_one_is_never_kept()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        var locator = new DkimKeyLocator(new PolicyDnsResolver(new PolicyDnsOptions([dns.Endpoint], TimeSpan.FromMilliseconds(2000), 0, 1000, TimeSpan.FromHours(1))));
        var record = TestDkimKey.Rsa().Record;
        Assert.Same(locator.Key(record), locator.Key(record)); // the door verifies many messages of one signer: one parse (bench/README.md, door)
        Assert.Throws<DkimKeyException>(() => locator.Key("v=DKIM1; k=rsa; p="));
        Assert.Throws<DkimKeyException>(() => locator.Key("v=DKIM1; k=rsa; p="));
    }
}
