// mailward user ... end to end through the command layer against a real data folder.
using Mailward.Core.Accounts;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class UserCommandTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public UserCommandTests() => _m.Run("domain", "add", "example.com", "pw").GetAwaiter().GetResult().Ok();

    public void Dispose() => _m.Dispose();

    [Fact]
    public async Task Add_makes_a_private_maildir_and_an_account_that_logs_in()
    {
        (await _m.Run("user", "add", "Joe@Example.com", "s3cret", "--comment", "Joe Bloggs", "--quota", "50M")).Ok();
        var folder = _m.UserFolder("joe@example.com");
        foreach (var sub in new[] { "cur", "new", "tmp" })
            Assert.True(Directory.Exists(Path.Combine(folder, "Maildir", sub)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Path.Combine(folder, "Maildir")));
        var u = _m.Store.FindUser("joe", "example.com")!;
        Assert.Equal("Joe Bloggs", u.Gecos);
        Assert.Equal(new Quota(52428800, 0), u.Quota);
        Assert.Null(u.ClearPassword); // off by default
        Assert.NotNull(await _m.LoginAsync("joe@example.com", "s3cret", "pop3", "192.0.2.7"));
        Assert.Null(await _m.LoginAsync("joe@example.com", "wrong", "pop3", "192.0.2.7"));
        var info = (await _m.Run("user", "info", "joe@example.com")).Ok().Out;
        Assert.Contains("name: joe@example.com", info);
        Assert.Contains("last login: ", info);
        Assert.Contains("from 192.0.2.7 (pop3)", info);
    }

    [Fact]
    public async Task Password_comes_from_stdin_random_hash_or_none()
    {
        (await _m.RunWithInput("piped-pw\n", "user", "add", "a@example.com")).Ok();
        Assert.NotNull(await _m.LoginAsync("a@example.com", "piped-pw", "t", "::1"));

        var r = (await _m.Run("user", "add", "b@example.com", "--random", "14")).Ok();
        var pw = r.Out.Split('\n').Single(l => l.Contains("random password", StringComparison.Ordinal)).Split(' ').Last().Trim();
        Assert.Equal(14, pw.Length);
        Assert.NotNull(await _m.LoginAsync("b@example.com", pw, "t", "::1"));

        (await _m.Run("user", "add", "c@example.com", "--hash", "DmIMm9e5Hc8ic")).Ok();
        Assert.Equal("DmIMm9e5Hc8ic", _m.Store.FindUser("c", "example.com")!.PasswordHash);
        Assert.NotNull(await _m.LoginAsync("c@example.com", "testpw", "t", "::1"));

        (await _m.Run("user", "add", "d@example.com", "--no-password")).Ok();
        Assert.Null(await _m.LoginAsync("d@example.com", "", "t", "::1"));

        var both = await _m.Run("user", "add", "e@example.com", "pw", "--random");
        Assert.Equal(1, both.Code); // a usage error: two passwords given
        Assert.Null(_m.Store.FindUser("e", "example.com"));
    }

    [Fact]
    public async Task Legacy_hash_is_upgraded_at_the_first_good_login()
    {
        (await _m.Run("user", "add", "old@example.com", "--hash", "$1$saltstri$qQY4WxjABChYG1ccLpfkz/")).Ok();
        Assert.Contains("legacy, upgraded at next login", (await _m.Run("user", "info", "old@example.com")).Ok().Out);
        Assert.Null(await _m.LoginAsync("old@example.com", "wrong", "imap", "::1"));
        Assert.StartsWith("$1$", _m.Store.FindUser("old", "example.com")!.PasswordHash);
        Assert.NotNull(await _m.LoginAsync("old@example.com", "password", "imap", "::1"));
        var upgraded = _m.Store.FindUser("old", "example.com")!;
        Assert.StartsWith("$argon2id$", upgraded.PasswordHash);
        Assert.Equal("imap", upgraded.LastLogin!.Service);
        Assert.NotNull(await _m.LoginAsync("old@example.com", "password", "imap", "::1"));
    }

    [Fact]
    public async Task List_passwd_mod_quota_and_delete()
    {
        (await _m.Run("user", "add", "joe@example.com", "pw1")).Ok();
        (await _m.Run("user", "add", "ann@example.com", "pw1")).Ok();
        Assert.Equal(["ann@example.com", "joe@example.com", "postmaster@example.com"],
            (await _m.Run("user", "list", "example.com")).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        (await _m.Run("user", "passwd", "joe@example.com", "pw2")).Ok();
        Assert.Null(await _m.LoginAsync("joe@example.com", "pw1", "t", "::1"));
        Assert.NotNull(await _m.LoginAsync("joe@example.com", "pw2", "t", "::1"));

        (await _m.Run("user", "mod", "joe@example.com", "--set", "no-pop", "--set", "no-imap", "--comment", "Joe")).Ok();
        var joe = _m.Store.FindUser("joe", "example.com")!;
        Assert.Equal(UserFlags.NoPop | UserFlags.NoImap, joe.Flags);
        Assert.Equal("Joe", joe.Gecos);
        (await _m.Run("user", "mod", "joe@example.com", "--unset", "no-pop")).Ok();
        Assert.Equal(UserFlags.NoImap, _m.Store.FindUser("joe", "example.com")!.Flags);
        (await _m.Run("user", "mod", "joe@example.com", "--clear-flags", "--set", "bounce-mail")).Ok();
        Assert.Equal(UserFlags.BounceMail, _m.Store.FindUser("joe", "example.com")!.Flags);
        (await _m.Run("user", "mod", "joe@example.com", "--set", "no-such-flag")).Fails(AccountError.InvalidArgument);

        (await _m.Run("user", "quota", "joe@example.com", "10M")).Ok();
        Assert.Equal(new Quota(10485760, 0), _m.Store.FindUser("joe", "example.com")!.Quota);
        Assert.Contains("quota of 3 users", (await _m.Run("user", "quota", "example.com", "1000000S,50C")).Ok().Out);
        Assert.All(_m.Store.ListUsers(_m.Store.FindDomain("example.com")!.Id), u => Assert.Equal(new Quota(1000000, 50), u.Quota));

        var folder = _m.UserFolder("joe@example.com");
        (await _m.Run("user", "del", "joe@example.com")).Ok();
        Assert.False(Directory.Exists(folder));
        Assert.Null(_m.Store.FindUser("joe", "example.com"));
        Assert.Empty(_m.Store.ListFolderIntents());
        (await _m.Run("user", "del", "joe@example.com")).Fails(AccountError.UserNotFound);
    }

    [Fact]
    public async Task Clear_text_copy_is_kept_only_when_the_setting_asks()
    {
        (await _m.Run("--Passwords:StoreClearText=true", "user", "add", "apop@example.com", "clearpw")).Ok();
        Assert.Equal("clearpw", _m.Store.FindUser("apop", "example.com")!.ClearPassword);
        (await _m.Run("user", "passwd", "apop@example.com", "newpw")).Ok();
        Assert.Null(_m.Store.FindUser("apop", "example.com")!.ClearPassword);
    }
}
