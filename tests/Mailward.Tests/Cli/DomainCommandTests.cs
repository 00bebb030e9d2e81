// mailward domain ... end to end through the command layer against a real data folder.
using Mailward.Core.Accounts;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class DomainCommandTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    [Fact]
    public async Task Add_creates_the_domain_folder_and_a_postmaster_who_can_log_in()
    {
        var r = (await _m.Run("domain", "add", "Example.COM", "pmsecret")).Ok();
        Assert.Contains("added domain example.com", r.Out);
        Assert.True(Directory.Exists(Path.Combine(_m.MailStore, "example.com")));
        var pm = _m.Store.FindUser("postmaster", "example.com");
        Assert.NotNull(pm);
        Assert.True(Directory.Exists(Path.Combine(_m.UserFolder("postmaster@example.com"), "Maildir", "new")));
        Assert.NotNull(await _m.LoginAsync("postmaster@example.com", "pmsecret", "test", "127.0.0.1"));
    }

    [Fact]
    public async Task Add_without_password_generates_and_prints_one()
    {
        var r = (await _m.Run("domain", "add", "example.org")).Ok();
        var line = r.Out.Split('\n').Single(l => l.Contains("random password", StringComparison.Ordinal));
        var password = line.Split(' ').Last().Trim();
        Assert.Equal(8, password.Length);
        Assert.NotNull(await _m.LoginAsync("postmaster@example.org", password, "test", "127.0.0.1"));
    }

    [Fact]
    public async Task Idna_domains_are_stored_as_A_labels_and_shown_in_both_forms()
    {
        (await _m.Run("domain", "add", "bücher.example", "pw")).Ok();
        Assert.Equal("xn--bcher-kva.example", (await _m.Run("domain", "list")).Ok().Out.Trim());
        var info = (await _m.Run("domain", "info", "bücher.example")).Ok().Out;
        Assert.Contains("domain: xn--bcher-kva.example", info);
        Assert.Contains("unicode: bücher.example", info);
    }

    [Fact]
    public async Task List_info_and_delete()
    {
        (await _m.Run("domain", "add", "b.test", "pw")).Ok();
        (await _m.Run("domain", "add", "a.test", "pw", "--catchall", "forward:catch@elsewhere.test")).Ok();
        (await _m.Run("user", "add", "joe@a.test", "pw")).Ok();
        Assert.Equal(["a.test", "b.test"], (await _m.Run("domain", "list")).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var info = (await _m.Run("domain", "info", "a.test")).Ok().Out;
        Assert.Contains("users: 2", info);
        Assert.Contains("catch-all: forward:catch@elsewhere.test", info);
        var folder = Path.Combine(_m.MailStore, "a.test");
        Assert.True(Directory.Exists(folder));

        (await _m.Run("domain", "del", "a.test")).Ok();
        Assert.False(Directory.Exists(folder));
        Assert.Null(_m.Store.FindDomain("a.test"));
        Assert.Null(_m.Store.FindUser("joe", "a.test"));
        Assert.Empty(_m.Store.ListFolderIntents());
        Assert.Equal("b.test", (await _m.Run("domain", "list")).Ok().Out.Trim());
    }

    [Fact]
    public async Task Alias_domains_resolve_to_the_real_domain()
    {
        (await _m.Run("domain", "add", "real.test", "pw")).Ok();
        (await _m.Run("user", "add", "joe@real.test", "pw")).Ok();
        (await _m.Run("domain", "alias", "add", "other.test", "real.test")).Ok();
        Assert.Equal("other.test real.test", (await _m.Run("domain", "alias", "list")).Ok().Out.Trim());
        Assert.Equal("real.test", _m.Store.FindDomain("other.test")!.Name);
        Assert.Equal("joe@real.test", _m.Store.FindUser("joe", "other.test")!.Address);
        Assert.Contains("alias domains: other.test", (await _m.Run("domain", "info", "real.test")).Ok().Out);

        (await _m.Run("domain", "alias", "add", "real.test", "other.test")).Fails(AccountError.DomainNotFound); // an alias is not a real domain
        (await _m.Run("domain", "alias", "add", "other.test", "real.test")).Fails(AccountError.DomainExists);
        (await _m.Run("domain", "add", "other.test", "pw")).Fails(AccountError.DomainExists);
        (await _m.Run("domain", "alias", "del", "other.test")).Ok();
        Assert.Null(_m.Store.FindDomain("other.test"));
        (await _m.Run("domain", "alias", "del", "other.test")).Fails(AccountError.DomainNotFound);
    }

    [Fact]
    public async Task Limits_are_shown_set_and_reset()
    {
        (await _m.Run("domain", "add", "lim.test", "pw")).Ok();
        var r = (await _m.Run("domain", "limits", "lim.test", "--max-users", "5", "--max-aliases", "3", "--quota", "1G", "--default-user-quota", "50M")).Ok();
        Assert.Contains("max users: 5", r.Out);
        Assert.Contains("max aliases: 3", r.Out);
        Assert.Contains("domain quota: 1073741824S", r.Out);
        var d = _m.Store.FindDomain("lim.test")!;
        Assert.Equal(5, d.Limits.MaxUsers);
        Assert.Equal(new Quota(52428800, 0), d.Limits.DefaultUserQuota);
        (await _m.Run("user", "add", "new@lim.test", "pw")).Ok();
        Assert.Equal(new Quota(52428800, 0), _m.Store.FindUser("new", "lim.test")!.Quota);

        (await _m.Run("domain", "limits", "lim.test", "--max-users", "-1")).Ok();
        Assert.Null(_m.Store.FindDomain("lim.test")!.Limits.MaxUsers);
        Assert.Contains("max users: unlimited", (await _m.Run("domain", "limits", "lim.test", "--reset")).Ok().Out);
        Assert.Equal(DomainLimits.None, _m.Store.FindDomain("lim.test")!.Limits);
    }
}
