// mailward apikey and mailward admin end to end through the command layer: keys printed once and
// stored hashed, listed without secrets, revoked; grants of several domains and of the system, as
// the web admin then sees them (AccountAdmin.ActorOf).
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class AccessCommandTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public AccessCommandTests()
    {
        _m.Run("domain", "add", "a.test", "pw").GetAwaiter().GetResult().Ok();
        _m.Run("domain", "add", "b.test", "pw").GetAwaiter().GetResult().Ok();
        _m.Run("user", "add", "ann@a.test", "pw").GetAwaiter().GetResult().Ok();
    }

    public void Dispose() => _m.Dispose();

    [Fact]
    public async Task Apikey_add_prints_the_token_once_list_shows_no_secret_and_revoke_ends_it()
    {
        var r = (await _m.Run("apikey", "add", "deploy", "--domain", "a.test", "--read-only", "--days", "30")).Ok();
        var token = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last().Trim();
        Assert.StartsWith(ApiKeyToken.Prefix, token, StringComparison.Ordinal);
        Assert.Contains("deploy: a.test read-only", r.Out, StringComparison.Ordinal);
        var actor = _m.Admin().ActorForApiKey(token);
        Assert.NotNull(actor);
        Assert.True(actor.ReadOnly);
        Assert.Equal(["a.test"], actor.Domains);

        var list = (await _m.Run("apikey", "list")).Ok().Out;
        Assert.Contains("deploy\tactive\ta.test\tread-only", list, StringComparison.Ordinal);
        Assert.DoesNotContain(token[^43..], list, StringComparison.Ordinal);

        (await _m.Run("apikey", "add", "deploy")).Fails(AccountError.InvalidArgument); // names are never reused
        (await _m.Run("apikey", "add", "x", "--domain", "nowhere.test")).Fails(AccountError.DomainNotFound);
        (await _m.Run("apikey", "add", "y", "--days", "9999")).Fails(AccountError.InvalidArgument);
        Assert.DoesNotContain(_m.Store.ListApiKeys(), k => k.Name is "x" or "y");

        (await _m.Run("apikey", "revoke", "deploy")).Ok();
        Assert.Null(_m.Admin().ActorForApiKey(token));
        Assert.Contains("deploy\trevoked", (await _m.Run("apikey", "list")).Ok().Out, StringComparison.Ordinal);
        (await _m.Run("apikey", "revoke", "deploy")).Fails(AccountError.InvalidArgument);
    }

    [Fact]
    public async Task Admin_grant_makes_an_admin_of_several_domains_and_revoke_takes_them_back()
    {
        var admin = _m.Admin();
        Assert.Equal(ActorKind.User, admin.ActorOf(_m.Store.FindUser("ann", "a.test")!).Kind);
        (await _m.Run("admin", "grant", "ann@a.test", "b.test")).Ok();
        (await _m.Run("admin", "grant", "ann@a.test", "a.test")).Ok();
        var actor = admin.ActorOf(_m.Store.FindUser("ann", "a.test")!);
        Assert.Equal(ActorKind.DomainAdmin, actor.Kind);
        Assert.Equal(["a.test", "b.test"], actor.Domains.Order(StringComparer.Ordinal));
        Assert.Equal("ann@a.test a.test\nann@a.test b.test\n", (await _m.Run("admin", "list")).Ok().Out.Replace("\r", "", StringComparison.Ordinal));

        (await _m.Run("admin", "grant", "nobody@a.test", "b.test")).Fails(AccountError.UserNotFound);
        (await _m.Run("admin", "grant", "ann@a.test", "nowhere.test")).Fails(AccountError.DomainNotFound);

        (await _m.Run("admin", "revoke", "ann@a.test", "b.test")).Ok();
        Assert.Equal(["a.test"], admin.ActorOf(_m.Store.FindUser("ann", "a.test")!).Domains);

        (await _m.Run("admin", "grant", "ann@a.test", "--system")).Ok();
        Assert.Equal(ActorKind.SystemAdmin, admin.ActorOf(_m.Store.FindUser("ann", "a.test")!).Kind);
        (await _m.Run("admin", "revoke", "ann@a.test", "--system")).Ok();
        Assert.Equal(ActorKind.DomainAdmin, admin.ActorOf(_m.Store.FindUser("ann", "a.test")!).Kind);

        // An account's grants go with it; a domain's grants go with the domain.
        (await _m.Run("admin", "grant", "ann@a.test", "b.test")).Ok();
        (await _m.Run("domain", "del", "b.test")).Ok();
        Assert.Equal("ann@a.test a.test\n", (await _m.Run("admin", "list")).Ok().Out.Replace("\r", "", StringComparison.Ordinal));
        (await _m.Run("user", "del", "ann@a.test")).Ok();
        Assert.Empty((await _m.Run("admin", "list")).Ok().Out.Trim());
    }
}
