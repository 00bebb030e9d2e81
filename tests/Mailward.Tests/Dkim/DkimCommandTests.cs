// mailward dkim keygen|show|rotate|del through the command line: the key files and their modes
// (docs/dkim-keys.md), the printed TXT record (dkimpy accepts it: a message signed with the stored
// key verifies against the printed record), the rotation states, damaged files and crash leftovers.
using System.Text.RegularExpressions;
using Mailward.Core.Dkim;
using Mailward.Tests.Support;
using MimeKit;
using MimeKit.Cryptography;

namespace Mailward.Tests.Dkim;

public sealed partial class DkimCommandTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    /// <summary>The record's value from the printed zone line: its quoted strings joined (RFC 6376 §3.6.2.2).</summary>
    private static string Record(string output) =>
        string.Concat(Quoted().Matches(output.Split('\n').Single(l => l.Contains("._domainkey.", StringComparison.Ordinal))).Select(m => m.Groups[1].Value));

    [GeneratedRegex("\"([^\"]*)\"")]
    private static partial Regex Quoted();

    private byte[] SignWithStoredKey(string domain)
    {
        var key = new DkimKeyStore(_m.Data).Read(domain).Signing!;
        var message = MimeMessage.Load(new MemoryStream(Dkimpy.Crlf(DkimVerifyTests.Message.Replace("ann@signer.test", "ann@" + domain, StringComparison.Ordinal))));
        var signer = new DkimSigner(key.Private!, domain, key.Selector, key.Algorithm == DkimKey.Ed25519 ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        signer.Sign(message, ["From", "To", "Subject"]);
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var ms = new MemoryStream();
        message.WriteTo(options, ms);
        return ms.ToArray();
    }

    [FactWhenDkimpy]
    public async Task Keygen_stores_a_private_key_and_prints_a_record_dkimpy_accepts()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("domain", "add", "ed.test", "pw")).Ok();
        var rsa = (await _m.Run("dkim", "keygen", "hosted.test", "--selector", "k1")).Ok();
        Assert.Contains("hosted.test k1 rsa-sha256 2048 bits active", rsa.Out);
        Assert.Contains("k1._domainkey.hosted.test. IN TXT ( \"v=DKIM1; k=rsa; p=", rsa.Out);
        var ed = (await _m.Run("dkim", "keygen", "ed.test", "--selector", "e1", "--ed25519")).Ok();
        Assert.Contains("k=ed25519", ed.Out);

        Assert.True((await Dkimpy.VerifyAsync(SignWithStoredKey("hosted.test"), new Dictionary<string, string> { ["k1._domainkey.hosted.test"] = Record(rsa.Out) })).Ok);
        Assert.True((await Dkimpy.VerifyAsync(SignWithStoredKey("ed.test"), new Dictionary<string, string> { ["e1._domainkey.ed.test"] = Record(ed.Out) })).Ok);
        // The record must belong to the key: another key's record does not verify.
        var other = (await _m.Run("dkim", "keygen", "hosted.test", "--selector", "k2")).Ok();
        Assert.False((await Dkimpy.VerifyAsync(SignWithStoredKey("hosted.test"), new Dictionary<string, string> { ["k1._domainkey.hosted.test"] = Record(other.Out) })).Ok);

        var folder = Path.Combine(_m.Data, "dkim");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(folder, "hosted.test")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "hosted.test", "k1.key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "hosted.test", "active")));
        var pem = await File.ReadAllTextAsync(Path.Combine(folder, "hosted.test", "k1.key"));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----\n", pem);
        Assert.EndsWith("-----END PRIVATE KEY-----\n", pem);
    }

    [Fact]
    public async Task A_second_key_waits_for_rotate_and_del_keeps_the_active_key_unless_forced()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("dkim", "keygen", "nothosted.test")).Fails(Core.Accounts.AccountError.DomainNotFound);
        (await _m.Run("dkim", "keygen", "hosted.test", "--selector", "old")).Ok();
        var second = (await _m.Run("dkim", "keygen", "hosted.test", "--selector", "new", "--ed25519")).Ok();
        Assert.Contains("inactive: old still signs", second.Out);
        var store = new DkimKeyStore(_m.Data);
        Assert.Equal("old", store.Read("hosted.test").Signing!.Selector);
        Assert.Equal("old", store.Signing("hosted.test")!.Selector);
        var rotated = (await _m.Run("dkim", "rotate", "hosted.test")).Ok();
        Assert.Contains("hosted.test new ed25519-sha256", rotated.Out);
        Assert.Contains("old no longer signs", rotated.Out);
        Assert.Equal("new", store.Signing("hosted.test")!.Selector); // the delivery path's cache sees the change
        var show = (await _m.Run("dkim", "show", "hosted.test")).Ok().Out;
        Assert.Contains("hosted.test: signed with new", show);
        Assert.Contains("old: rsa-sha256 2048 bits", show);
        Assert.Contains("inactive", show);

        Assert.NotEqual(0, (await _m.Run("dkim", "del", "hosted.test", "--selector", "new")).Code); // the active key
        (await _m.Run("dkim", "del", "hosted.test", "--selector", "old")).Ok();
        Assert.Single(store.Read("hosted.test").Keys);
        (await _m.Run("dkim", "del", "hosted.test", "--selector", "new", "--force")).Ok();
        Assert.Null(store.Signing("hosted.test"));
        (await _m.Run("dkim", "keygen", "hosted.test", "--selector", "again")).Ok();
        (await _m.Run("dkim", "del", "hosted.test")).Ok();
        Assert.False(Directory.Exists(Path.Combine(_m.Data, "dkim", "hosted.test")));
    }

    [Fact]
    public async Task Damaged_files_and_crash_leftovers_never_sign_and_show_says_why()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("dkim", "keygen", "hosted.test", "--selector", "k1")).Ok();
        var folder = Path.Combine(_m.Data, "dkim", "hosted.test");
        var store = new DkimKeyStore(_m.Data);

        // A crash between the tmp write and the rename: ignored, and removed by the next command.
        await File.WriteAllTextAsync(Path.Combine(folder, ".tmp-k9.key-0011"), "-----BEGIN PRIVATE KEY-----\nMII");
        Assert.Equal("k1", store.Read("hosted.test").Signing!.Selector);
        (await _m.Run("dkim", "keygen", "hosted.test", "--selector", "k2")).Ok();
        Assert.Empty(Directory.GetFiles(folder, ".tmp-*"));

        // A crash between the key and active (first keygen): a key, no active: not signed until rotate.
        File.Delete(Path.Combine(folder, "active"));
        Assert.Null(store.Read("hosted.test").Signing);
        Assert.Contains("hosted.test: not signed", (await _m.Run("dkim", "show")).Ok().Out);
        (await _m.Run("dkim", "rotate", "hosted.test", "--selector", "k1")).Ok();
        Assert.Equal("k1", store.Read("hosted.test").Signing!.Selector);

        // A key cut short (no end marker) and a damaged active file: never sign, and show names the problem.
        var pem = await File.ReadAllTextAsync(Path.Combine(folder, "k1.key"));
        await File.WriteAllTextAsync(Path.Combine(folder, "k1.key"), pem[..(pem.Length / 2)]);
        Assert.Null(store.Read("hosted.test").Signing);
        var show = (await _m.Run("dkim", "show", "hosted.test")).Ok().Out;
        Assert.Contains("k1: damaged: no end marker", show);
        Assert.Contains("problem: active names selector k1, which has no good key file", show);
        await File.WriteAllTextAsync(Path.Combine(folder, "active"), "mailward-dkim-active 1\nselector: k2\n");
        Assert.Null(store.Read("hosted.test").Signing);
        Assert.Contains("active is damaged", (await _m.Run("dkim", "show", "hosted.test")).Ok().Out);
        await File.WriteAllTextAsync(Path.Combine(folder, "active"), "mailward-dkim-active 1\nselector: k2\nend\n");
        Assert.Equal("k2", store.Read("hosted.test").Signing!.Selector);
    }
}
