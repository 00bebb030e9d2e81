// mailward alias, relay and ipmap end to end through the command layer.
using Mailward.Core.Accounts;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class AliasAndNetworkCommandTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public AliasAndNetworkCommandTests() => _m.Run("domain", "add", "example.com", "pw").GetAwaiter().GetResult().Ok();

    public void Dispose() => _m.Dispose();

    [Fact]
    public async Task Alias_lines_are_normalised_listed_and_removed()
    {
        var r = (await _m.Run("alias", "add", "info@example.com", "joe@Example.com", "&ann@elsewhere.test", "/var/mail/archive/Maildir/", "|/usr/bin/true")).Ok();
        Assert.Contains("info@example.com &joe@example.com", r.Out);
        var alias = _m.Store.FindAlias("info", "example.com")!;
        Assert.Equal(["&joe@example.com", "&ann@elsewhere.test", "/var/mail/archive/Maildir/", "|/usr/bin/true"], alias.Lines);
        Assert.Equal(4, (await _m.Run("alias", "list", "example.com")).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(4, (await _m.Run("alias", "list", "info@example.com")).Ok().Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        (await _m.Run("alias", "add", "info@example.com", "joe@example.com")).Fails(AccountError.InvalidArgument); // duplicate line
        (await _m.Run("alias", "add", "x@example.com", "/etc/../root/")).Fails(AccountError.InvalidArgument);
        (await _m.Run("alias", "add", "x@example.com", "not an address")).Fails(AccountError.InvalidArgument);
        (await _m.Run("alias", "add", "x@example.com", "x@example.com")).Fails(AccountError.InvalidArgument); // to itself
        (await _m.Run("alias", "add", "x@nowhere.test", "joe@example.com")).Fails(AccountError.DomainNotFound);
        Assert.Null(_m.Store.FindAlias("x", "example.com"));

        (await _m.Run("alias", "del", "info@example.com", "&ann@elsewhere.test")).Ok();
        Assert.Equal(3, _m.Store.FindAlias("info", "example.com")!.Lines.Count);
        (await _m.Run("alias", "del", "info@example.com")).Ok();
        Assert.Null(_m.Store.FindAlias("info", "example.com"));
        (await _m.Run("alias", "del", "info@example.com")).Fails(AccountError.AliasNotFound);
    }

    [Fact]
    public async Task Alias_and_forward_limits_are_counted_separately()
    {
        (await _m.Run("domain", "limits", "example.com", "--max-forwards", "1", "--max-aliases", "1")).Ok();
        (await _m.Run("alias", "add", "f1@example.com", "a@remote.test")).Ok();
        (await _m.Run("alias", "add", "f1@example.com", "b@remote.test")).Ok(); // same alias, another line
        (await _m.Run("alias", "add", "f2@example.com", "a@remote.test")).Fails(AccountError.LimitReached);
        (await _m.Run("alias", "add", "m1@example.com", "/srv/box/Maildir/")).Ok();
        (await _m.Run("alias", "add", "m2@example.com", "/srv/box2/Maildir/")).Fails(AccountError.LimitReached);
        Assert.Null(_m.Store.FindAlias("f2", "example.com"));
    }

    [Fact]
    public async Task Catch_all_is_shown_and_set()
    {
        Assert.Contains("example.com catch-all: bounce", (await _m.Run("alias", "catchall", "example.com")).Ok().Out);
        (await _m.Run("alias", "catchall", "example.com", "mailbox:postmaster")).Ok();
        Assert.Equal(new CatchAll(CatchAllKind.Mailbox, "postmaster"), _m.Store.FindDomain("example.com")!.CatchAll);
        (await _m.Run("alias", "catchall", "example.com", "delete")).Ok();
        Assert.Equal(CatchAllKind.Delete, _m.Store.FindDomain("example.com")!.CatchAll.Kind);
        (await _m.Run("alias", "catchall", "example.com", "forward:all@remote.test")).Ok();
        Assert.Equal(new CatchAll(CatchAllKind.Forward, "all@remote.test"), _m.Store.FindDomain("example.com")!.CatchAll);
        (await _m.Run("alias", "catchall", "example.com", "forward:loop@example.com")).Fails(AccountError.InvalidArgument);
        (await _m.Run("alias", "catchall", "example.com", "sometimes")).Fails(AccountError.InvalidArgument);
        (await _m.Run("alias", "catchall", "example.com", "bounce")).Ok();
        Assert.Equal(CatchAll.Bounce, _m.Store.FindDomain("example.com")!.CatchAll);
    }

    [Fact]
    public async Task Relay_rules_start_with_loopback_and_take_cidrs()
    {
        var list = (await _m.Run("relay", "list")).Ok().Out;
        Assert.Contains("allow 127.0.0.1/32", list);
        Assert.Contains("allow ::1/128", list);
        (await _m.Run("relay", "allow", "192.0.2.0/24", "--comment", "office")).Ok();
        (await _m.Run("relay", "deny", "192.0.2.128/25")).Ok();
        (await _m.Run("relay", "allow", "2001:db8::1")).Ok();
        list = (await _m.Run("relay", "list")).Ok().Out;
        Assert.Contains("allow 192.0.2.0/24 office", list);
        Assert.Contains("deny 192.0.2.128/25", list);
        Assert.Contains("allow 2001:db8::1/128", list);
        (await _m.Run("relay", "allow", "192.0.2.1/24")).Fails(AccountError.InvalidArgument); // host bits set
        (await _m.Run("relay", "allow", "not-a-network")).Fails(AccountError.InvalidArgument);
        (await _m.Run("relay", "del", "192.0.2.128/25")).Ok();
        Assert.DoesNotContain("192.0.2.128", (await _m.Run("relay", "list")).Ok().Out);
        (await _m.Run("relay", "del", "192.0.2.128/25")).Fails(AccountError.InvalidArgument);
    }

    [Fact]
    public async Task Ip_map_adds_lists_and_deletes()
    {
        (await _m.Run("ipmap", "add", "192.0.2.10", "example.com")).Ok();
        Assert.Equal("192.0.2.10 example.com", (await _m.Run("ipmap", "list")).Ok().Out.Trim());
        Assert.Equal("example.com", _m.Store.MapIpToDomain("192.0.2.10"));
        (await _m.Run("ipmap", "add", "192.0.2.11", "missing.test")).Fails(AccountError.DomainNotFound);
        (await _m.Run("ipmap", "add", "999.1.1.1", "example.com")).Fails(AccountError.InvalidArgument);
        (await _m.Run("ipmap", "del", "192.0.2.10")).Ok();
        Assert.Null(_m.Store.MapIpToDomain("192.0.2.10"));
    }
}
