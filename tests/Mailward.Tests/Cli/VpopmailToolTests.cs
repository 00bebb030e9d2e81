// The vpopmail tool names with vpopmail's flags, run as `mailward vXXX` and as a program named vXXX.
using Mailward.Core.Accounts;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class VpopmailToolTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    private static string RandomFrom(CliResult r) => r.Out.Split('\n').Single(l => l.StartsWith("Random password: ", StringComparison.Ordinal))[17..].Trim();

    [Fact]
    public async Task Vadddomain_flags()
    {
        (await _m.Run("vadddomain", "-q", "20M", "one.test", "pmpw")).Ok();
        Assert.Equal(new Quota(20971520, 0), _m.Store.FindUser("postmaster", "one.test")!.Quota);
        Assert.Equal(CatchAll.Bounce, _m.Store.FindDomain("one.test")!.CatchAll);

        (await _m.Run("vadddomain", "-e", "catch@remote.test", "two.test", "pmpw")).Ok();
        Assert.Equal(new CatchAll(CatchAllKind.Forward, "catch@remote.test"), _m.Store.FindDomain("two.test")!.CatchAll);

        (await _m.Run("vadddomain", "-b", "three.test", "pmpw")).Ok();
        Assert.Equal(CatchAll.Bounce, _m.Store.FindDomain("three.test")!.CatchAll);

        var r = (await _m.Run("vadddomain", "-r12", "four.test")).Ok();
        Assert.Equal(12, RandomFrom(r).Length);
        Assert.NotNull(await _m.LoginAsync("postmaster@four.test", RandomFrom(r), "t", "::1"));

        var ignored = (await _m.Run("vadddomain", "-i", "89", "-u", "vpopmail", "-g", "89", "five.test", "pw")).Ok();
        Assert.Contains("-i ignored", ignored.Err);
        Assert.Contains("-u ignored", ignored.Err);

        var elsewhere = Path.Combine(_m.Data, "..", "other-disk");
        Directory.CreateDirectory(elsewhere);
        (await _m.Run("vadddomain", "-d", Path.GetFullPath(elsewhere), "six.test", "pw")).Ok();
        Assert.True(Directory.Exists(Path.Combine(Path.GetFullPath(elsewhere), "six.test", "postmaster", "Maildir", "new")));
        Assert.StartsWith(Path.GetFullPath(elsewhere), _m.UserFolder("postmaster@six.test"));
        (await _m.Run("vadddomain", "-d", "relative/dir", "seven.test", "pw")).Fails(AccountError.InvalidArgument);

        (await _m.RunWithInput("from-stdin\n", "vadddomain", "eight.test")).Ok();
        Assert.NotNull(await _m.LoginAsync("postmaster@eight.test", "from-stdin", "t", "::1"));

        Assert.Equal(1, (await _m.Run("vadddomain", "-Z", "x.test")).Code);
        Assert.Equal(1, (await _m.Run("vadddomain")).Code);
    }

    [Fact]
    public async Task Vdeldomain_and_vaddaliasdomain_in_either_order()
    {
        (await _m.Run("vadddomain", "real.test", "pw")).Ok();
        (await _m.Run("vaddaliasdomain", "real.test", "alias1.test")).Ok();
        (await _m.Run("vaddaliasdomain", "alias2.test", "real.test")).Ok(); // the old order works too
        Assert.Equal("real.test", _m.Store.FindDomain("alias1.test")!.Name);
        Assert.Equal("real.test", _m.Store.FindDomain("alias2.test")!.Name);
        (await _m.Run("vaddaliasdomain", "real.test", "alias1.test")).Fails(AccountError.DomainExists);
        (await _m.Run("vaddaliasdomain", "none1.test", "none2.test")).Fails(AccountError.DomainNotFound);

        var r = (await _m.Run("vdeldomain", "real.test")).Ok();
        Assert.Null(_m.Store.FindDomain("real.test"));
        Assert.Null(_m.Store.FindDomain("alias1.test"));
        (await _m.Run("vdeldomain", "real.test")).Fails(AccountError.DomainNotFound);
    }

    [Fact]
    public async Task Vadduser_flags()
    {
        (await _m.Run("vadddomain", "ex.test", "pw")).Ok();
        (await _m.Run("vadduser", "-q", "5000000", "-c", "Ann Example", "ann@ex.test", "annpw")).Ok();
        var ann = _m.Store.FindUser("ann", "ex.test")!;
        Assert.Equal(new Quota(5000000, 0), ann.Quota);
        Assert.Equal("Ann Example", ann.Gecos);

        (await _m.Run("vadduser", "-e", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "bob@ex.test")).Ok();
        Assert.NotNull(await _m.LoginAsync("bob@ex.test", "Hello world!", "t", "::1"));
        (await _m.Run("vadduser", "-e", "garbage", "bad@ex.test")).Fails(AccountError.InvalidArgument);

        (await _m.Run("vadduser", "-n", "nopw@ex.test")).Ok();
        Assert.Equal("*", _m.Store.FindUser("nopw", "ex.test")!.PasswordHash);

        var r = (await _m.Run("vadduser", "-r", "rnd@ex.test")).Ok();
        Assert.Equal(8, RandomFrom(r).Length);
        r = (await _m.Run("vadduser", "-r20", "rnd20@ex.test")).Ok();
        Assert.Equal(20, RandomFrom(r).Length);
        Assert.NotNull(await _m.LoginAsync("rnd20@ex.test", RandomFrom(r), "t", "::1"));

        // Flags after the operands, as GNU getopt allows.
        (await _m.Run("vadduser", "late@ex.test", "pw", "-c", "Late Flag")).Ok();
        Assert.Equal("Late Flag", _m.Store.FindUser("late", "ex.test")!.Gecos);
    }

    [Fact]
    public async Task Vdeluser_vpasswd_vchangepw_vsetuserquota()
    {
        (await _m.Run("vadddomain", "ex.test", "pw")).Ok();
        (await _m.Run("vadduser", "joe@ex.test", "old")).Ok();
        (await _m.Run("vpasswd", "joe@ex.test", "new1")).Ok();
        Assert.NotNull(await _m.LoginAsync("joe@ex.test", "new1", "t", "::1"));
        var r = (await _m.Run("vpasswd", "-r10", "joe@ex.test")).Ok();
        Assert.NotNull(await _m.LoginAsync("joe@ex.test", RandomFrom(r), "t", "::1"));
        (await _m.Run("vpasswd", "nobody@ex.test", "x")).Fails(AccountError.UserNotFound);

        (await _m.Run("vpasswd", "joe@ex.test", "current")).Ok();
        (await _m.RunWithInput("joe@ex.test\ncurrent\nchanged\nchanged\n", "vchangepw")).Ok();
        Assert.NotNull(await _m.LoginAsync("joe@ex.test", "changed", "t", "::1"));
        (await _m.RunWithInput("joe@ex.test\nwrong\nx\nx\n", "vchangepw")).Fails(AccountError.PasswordMismatch);
        (await _m.RunWithInput("joe@ex.test\nchanged\nx\ny\n", "vchangepw")).Fails(AccountError.PasswordMismatch);
        (await _m.Run("vmoduser", "-d", "joe@ex.test")).Ok();
        (await _m.RunWithInput("joe@ex.test\nchanged\nz\nz\n", "vchangepw")).Fails(AccountError.NotPermitted);
        Assert.NotNull(await _m.LoginAsync("joe@ex.test", "changed", "t", "::1"));

        (await _m.Run("vsetuserquota", "joe@ex.test", "10M")).Ok();
        Assert.Equal(new Quota(10485760, 0), _m.Store.FindUser("joe", "ex.test")!.Quota);
        (await _m.Run("vsetuserquota", "ex.test", "NOQUOTA")).Ok();
        Assert.Equal(Quota.Unlimited, _m.Store.FindUser("joe", "ex.test")!.Quota);
        (await _m.Run("vsetuserquota", "joe@ex.test", "ten megs")).Fails(AccountError.QuotaMalformed);

        var folder = _m.UserFolder("joe@ex.test");
        (await _m.Run("vdeluser", "joe@ex.test")).Ok();
        Assert.False(Directory.Exists(folder));
        (await _m.Run("vdeluser", "joe@ex.test")).Fails(AccountError.UserNotFound);
    }

    [Fact]
    public async Task Vmoduser_flag_letters_and_fields()
    {
        (await _m.Run("vadddomain", "ex.test", "pw")).Ok();
        (await _m.Run("vadduser", "joe@ex.test", "pw")).Ok();
        var cases = new (string Letter, UserFlags Flag)[]
        {
            ("-d", UserFlags.NoPasswordChange), ("-p", UserFlags.NoPop), ("-s", UserFlags.NoSmtp), ("-w", UserFlags.NoWebmail),
            ("-i", UserFlags.NoImap), ("-b", UserFlags.BounceMail), ("-o", UserFlags.NoLimits), ("-r", UserFlags.NoRelay),
            ("-a", UserFlags.DomainAdmin), ("-S", UserFlags.SystemAdmin), ("-E", UserFlags.Expert),
        };
        foreach (var (letter, flag) in cases)
        {
            (await _m.Run("vmoduser", "-x", letter, "joe@ex.test")).Ok();
            Assert.Equal(flag, _m.Store.FindUser("joe", "ex.test")!.Flags);
        }
        (await _m.Run("vmoduser", "-ps", "joe@ex.test")).Ok(); // bundled, added to what is set
        Assert.Equal(UserFlags.Expert | UserFlags.NoPop | UserFlags.NoSmtp, _m.Store.FindUser("joe", "ex.test")!.Flags);
        Assert.Equal(((int)(UserFlags.Expert | UserFlags.NoPop | UserFlags.NoSmtp)).ToString(), (await _m.Run("vuserinfo", "-g", "joe@ex.test")).Ok().Out.Trim());
        (await _m.Run("vmoduser", "-x", "joe@ex.test")).Ok();
        Assert.Equal(UserFlags.None, _m.Store.FindUser("joe", "ex.test")!.Flags);

        (await _m.Run("vmoduser", "-q", "1M", "-c", "Joe Q", "-C", "clear1", "joe@ex.test")).Ok();
        var joe = _m.Store.FindUser("joe", "ex.test")!;
        Assert.Equal(new Quota(1048576, 0), joe.Quota);
        Assert.Equal("Joe Q", joe.Gecos);
        Assert.NotNull(await _m.LoginAsync("joe@ex.test", "clear1", "t", "::1"));
        (await _m.Run("vmoduser", "-e", "DmIMm9e5Hc8ic", "joe@ex.test")).Ok();
        Assert.NotNull(await _m.LoginAsync("joe@ex.test", "testpw", "t", "::1"));

        (await _m.Run("vmoduser", "-p", "ex.test")).Ok(); // a domain: every user
        Assert.All(_m.Store.ListUsers(_m.Store.FindDomain("ex.test")!.Id), u => Assert.True(u.Flags.HasFlag(UserFlags.NoPop)));
    }

    [Fact]
    public async Task Vuserinfo_and_vdominfo_fields()
    {
        (await _m.Run("vadddomain", "ex.test", "pw")).Ok();
        (await _m.Run("vadduser", "-c", "Joe Bloggs", "-q", "2M", "joe@ex.test", "pw")).Ok();
        var all = (await _m.Run("vuserinfo", "joe@ex.test")).Ok().Out;
        Assert.Contains("name:   joe", all);
        Assert.Contains("comment/gecos: Joe Bloggs", all);
        Assert.Contains("limits: No user limits set.", all);
        Assert.Contains("quota:     2097152S", all);
        Assert.Contains("last auth: Never logged in", all);
        Assert.Equal("joe", (await _m.Run("vuserinfo", "-n", "joe@ex.test")).Ok().Out.Trim());
        Assert.Equal("Joe Bloggs", (await _m.Run("vuserinfo", "-c", "joe@ex.test")).Ok().Out.Trim());
        Assert.Equal(_m.UserFolder("joe@ex.test"), (await _m.Run("vuserinfo", "-d", "joe@ex.test")).Ok().Out.Trim());
        Assert.Equal("2097152S", (await _m.Run("vuserinfo", "-q", "joe@ex.test")).Ok().Out.Trim());
        Assert.StartsWith("$argon2id$", (await _m.Run("vuserinfo", "-p", "joe@ex.test")).Ok().Out.Trim());

        // -Q measures the Maildir: 1 MiB in new/ against a 2 MiB quota is 50%.
        await File.WriteAllBytesAsync(Path.Combine(_m.UserFolder("joe@ex.test"), "Maildir", "new", "1.test"), new byte[1048576]);
        Assert.Equal("50%", (await _m.Run("vuserinfo", "-Q", "joe@ex.test")).Ok().Out.Trim());
        Assert.Equal(2, (await _m.Run("vuserinfo", "-D", "ex.test")).Ok().Out.Split('\n').Count(l => l.StartsWith("----", StringComparison.Ordinal)));
        (await _m.Run("vuserinfo", "ghost@ex.test")).Fails(AccountError.UserNotFound);

        var dom = (await _m.Run("vdominfo", "ex.test")).Ok().Out;
        Assert.Contains("domain: ex.test", dom);
        Assert.Contains("users:  2", dom);
        Assert.Equal("2", (await _m.Run("vdominfo", "-t", "ex.test")).Ok().Out.Trim());
        Assert.Equal("ex.test", (await _m.Run("vdominfo", "-n", "ex.test")).Ok().Out.Trim());
        Assert.Equal(Path.Combine(_m.MailStore, "ex.test"), (await _m.Run("vdominfo", "-d", "ex.test")).Ok().Out.Trim());
        (await _m.Run("vdominfo", "ghost.test")).Fails(AccountError.DomainNotFound);

        var uid = (await File.ReadAllLinesAsync("/proc/self/status")).First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.Equal(uid, (await _m.Run("vuserinfo", "-u", "joe@ex.test")).Ok().Out.Trim());
        Assert.Equal(uid, (await _m.Run("vdominfo", "-u", "ex.test")).Ok().Out.Trim());
        Assert.Matches("^[0-9]+$", (await _m.Run("vdominfo", "-g", "ex.test")).Ok().Out.Trim());
    }

    [Fact]
    public async Task Vuserinfo_shows_last_login_and_clear_text_when_kept()
    {
        (await _m.Run("vadddomain", "ex.test", "pw")).Ok();
        (await _m.Run("--Passwords:StoreClearText=true", "vadduser", "joe@ex.test", "kept-clear")).Ok();
        Assert.Equal("kept-clear", (await _m.Run("vuserinfo", "-C", "joe@ex.test")).Ok().Out.Trim());
        Assert.Equal("last auth: Never logged in", (await _m.Run("vuserinfo", "-l", "joe@ex.test")).Ok().Out.Trim());
        Assert.NotNull(await _m.LoginAsync("joe@ex.test", "kept-clear", "pop3", "198.51.100.4"));
        var last = (await _m.Run("vuserinfo", "-l", "joe@ex.test")).Ok().Out;
        Assert.Contains("last auth: ", last);
        Assert.Contains("last auth ip: 198.51.100.4", last);
        Assert.Contains("last auth ip: 198.51.100.4", (await _m.Run("vuserinfo", "-a", "joe@ex.test")).Ok().Out);
    }

    [Fact]
    public async Task Vipmap_and_vmoddomlimits()
    {
        (await _m.Run("vadddomain", "ex.test", "pw")).Ok();
        (await _m.Run("vipmap", "-a", "192.0.2.25", "ex.test")).Ok();
        Assert.Equal("192.0.2.25 ex.test", (await _m.Run("vipmap", "-p")).Ok().Out.Trim());
        (await _m.Run("vipmap", "-d", "192.0.2.25", "ex.test")).Ok();
        Assert.Equal("", (await _m.Run("vipmap", "-p")).Ok().Out.Trim());

        (await _m.Run("vmoddomlimits", "-P", "2", "-A", "4", "-F", "5", "-R", "6", "-L", "7", "-Q", "100", "-q", "10M", "-M", "1000", "-m", "100", "ex.test")).Ok();
        var l = _m.Store.FindDomain("ex.test")!.Limits;
        Assert.Equal((2, 4, 5, 6, 7), (l.MaxUsers!.Value, l.MaxAliases!.Value, l.MaxForwards!.Value, l.MaxAutoresponders!.Value, l.MaxLists!.Value));
        Assert.Equal(new Quota(100L * 1024 * 1024, 1000), l.DomainQuota);
        Assert.Equal(new Quota(10485760, 100), l.DefaultUserQuota);
        var shown = (await _m.Run("vmoddomlimits", "-S", "ex.test")).Ok().Out;
        Assert.Contains("Max Pop Accounts: 2", shown);
        Assert.Contains("Domain Quota: 100 MB", shown);

        (await _m.Run("vadduser", "second@ex.test", "pw")).Ok();
        (await _m.Run("vadduser", "third@ex.test", "pw")).Fails(AccountError.LimitReached);
        (await _m.Run("vmoddomlimits", "-D", "ex.test")).Ok();
        Assert.Equal(DomainLimits.None, _m.Store.FindDomain("ex.test")!.Limits);
        (await _m.Run("vadduser", "third@ex.test", "pw")).Ok();
        (await _m.Run("vmoddomlimits", "-Q", "lots", "ex.test")).Fails(AccountError.QuotaMalformed);
    }

    [Fact]
    public async Task Invoked_through_a_link_name_acts_as_that_tool()
    {
        (await _m.RunAs("vadddomain", "linked.test", "pw")).Ok();
        (await _m.RunAs("vadduser", "joe@linked.test", "pw")).Ok();
        Assert.NotNull(_m.Store.FindUser("joe", "linked.test"));
        Assert.Contains("usage: vadduser", (await _m.RunAs("vadduser", "-h")).Ok().Out);
    }
}
