// Legacy hash vectors (vpopmail HOWTO, Drepper's SHA-crypt specification), Dovecot scheme
// prefixes, Argon2id round trips and the upgrade rule.
using Mailward.Core.Passwords;

namespace Mailward.Tests.Passwords;

public class PasswordHasherTests
{
    private static readonly PasswordHasher Hasher = new(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 });

    [Theory]
    [InlineData("DmIMm9e5Hc8ic", "testpw")] // vpopmail HOWTO's DES example
    [InlineData("$1$saltstri$qQY4WxjABChYG1ccLpfkz/", "password")]
    [InlineData("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!")] // SHA-crypt spec
    [InlineData("$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "Hello world!")]
    [InlineData("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!")]
    [InlineData("$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", "secret")]
    [InlineData("{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!")]
    [InlineData("{CRYPT}DmIMm9e5Hc8ic", "testpw")]
    [InlineData("{PLAIN}hunter2", "hunter2")]
    public void Legacy_hashes_verify_and_are_marked_for_upgrade(string hash, string password)
    {
        Assert.True(PasswordHasher.IsRecognizedHash(hash));
        Assert.True(Hasher.Verify(hash, password));
        Assert.False(Hasher.Verify(hash, password + "x"));
        Assert.False(Hasher.Verify(hash, ""));
        Assert.True(Hasher.NeedsUpgrade(hash));
    }

    [Fact]
    public void Des_crypt_uses_only_eight_characters_as_crypt3_does()
    {
        // A property of DES crypt that admins meet when migrating: "testpw12345" == "testpw12".
        var hash = UnixCryptFor("testpw12", "Dm");
        Assert.True(Hasher.Verify(hash, "testpw12345"));
    }

    [Fact]
    public void New_hashes_are_argon2id_and_round_trip()
    {
        var hash = Hasher.Hash("correct horse");
        Assert.StartsWith("$argon2id$v=19$m=64,t=1,p=1$", hash);
        Assert.True(Hasher.Verify(hash, "correct horse"));
        Assert.False(Hasher.Verify(hash, "correct horsf"));
        Assert.NotEqual(hash, Hasher.Hash("correct horse")); // salted
        Assert.False(Hasher.NeedsUpgrade(hash));
        Assert.True(Hasher.Verify("{ARGON2ID}" + hash, "correct horse"));
    }

    [Fact]
    public void Weaker_argon2_parameters_are_upgraded_to_the_configured_cost()
    {
        var weak = Hasher.Hash("pw");
        var stronger = new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 128, Argon2Iterations = 1 });
        Assert.True(stronger.Verify(weak, "pw"));
        Assert.True(stronger.NeedsUpgrade(weak));
    }

    [Theory]
    [InlineData("")]
    [InlineData("notahash")]
    [InlineData("$1$salt$tooshort")]
    [InlineData("$argon2id$v=19$m=64,t=1,p=1$bad")]
    [InlineData("$9$unknown$scheme")]
    public void Unknown_formats_are_refused(string hash)
    {
        Assert.False(PasswordHasher.IsRecognizedHash(hash));
        Assert.False(Hasher.Verify(hash, "anything"));
    }

    [Fact]
    public void No_password_marker_never_verifies()
    {
        Assert.True(PasswordHasher.IsRecognizedHash(PasswordHasher.NoPassword));
        Assert.False(Hasher.Verify(PasswordHasher.NoPassword, ""));
        Assert.False(Hasher.Verify(PasswordHasher.NoPassword, "*"));
    }

    [Fact]
    public void Random_passwords_have_the_asked_length_and_differ()
    {
        Assert.Equal(8, RandomPassword.Generate().Length);
        Assert.Equal(20, RandomPassword.Generate(20).Length);
        Assert.NotEqual(RandomPassword.Generate(16), RandomPassword.Generate(16));
        Assert.Throws<Core.Accounts.AccountException>(() => RandomPassword.Generate(0));
    }

    private static string UnixCryptFor(string password, string salt) =>
        typeof(PasswordHasher).Assembly.GetType("Mailward.Core.Passwords.UnixCrypt")!
            .GetMethod("Crypt")!.Invoke(null, [password, salt]) as string ?? throw new InvalidOperationException();
}
