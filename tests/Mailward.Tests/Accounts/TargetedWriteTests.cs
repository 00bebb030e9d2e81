// Targeted writes: a change writes only the fields it names. A login that upgrades a legacy hash
// from a record it read earlier must not write back that record's other fields over an admin's
// change made in between, nor its upgrade over a password the admin set in between. The race is
// made deterministic: the admin's write runs (through its own store, as `mailward` would) right
// after the login read the user.
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Mailward.Tests.Support;

namespace Mailward.Tests.Accounts;

public sealed class TargetedWriteTests : IDisposable
{
    private const string LegacyHash = "DmIMm9e5Hc8ic"; // DES crypt of "testpw", as vpopmail stored it
    private readonly MailwardRunner _m = new();
    private readonly PasswordHasher _hasher = new(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 });

    public TargetedWriteTests()
    {
        _m.Run("domain", "add", "example.com", "pw").GetAwaiter().GetResult().Ok();
        _m.Run("vadduser", "-e", LegacyHash, "joe@example.com").GetAwaiter().GetResult().Ok();
    }

    public void Dispose() => _m.Dispose();

    private string Db => $"Data Source={Path.Combine(_m.Data, "accounts.db")}";

    /// <summary>The real store's lookups; after the first user lookup, <paramref name="meanwhile"/> runs once.</summary>
    private sealed class Interleaving(IAccountDirectory inner, Func<Task> meanwhile) : IAccountDirectory
    {
        private int _ran;

        public ValueTask<DomainRecord?> FindDomainAsync(string name, CancellationToken ct = default) => inner.FindDomainAsync(name, ct);

        public async ValueTask<UserRecord?> FindUserAsync(string local, string domain, CancellationToken ct = default)
        {
            var user = await inner.FindUserAsync(local, domain, ct);
            if (Interlocked.Exchange(ref _ran, 1) == 0)
                await meanwhile();
            return user;
        }

        public ValueTask<AliasRecord?> FindAliasAsync(string local, string domain, CancellationToken ct = default) => inner.FindAliasAsync(local, domain, ct);

        public ValueTask<string?> MapIpToDomainAsync(string address, CancellationToken ct = default) => inner.MapIpToDomainAsync(address, ct);
    }

    private async Task<LoginResult> LoginWhileAsync(Func<Task> meanwhile, string password = "testpw")
    {
        using var store = new SqliteAccountStore(Db);
        var logins = new LoginService(store, _hasher, new LoginOptions(), directory: new Interleaving(store, meanwhile));
        return await logins.VerifyAsync("joe@example.com", password, IPAddress.Parse("192.0.2.1"), null, "pop3", UserFlags.None);
    }

    [Fact]
    public async Task A_hash_upgrade_racing_a_flag_change_loses_neither()
    {
        var result = await LoginWhileAsync(async () => (await _m.Run("user", "mod", "joe@example.com", "--set", "no-imap")).Ok());

        Assert.True(result.Succeeded);
        var joe = _m.Store.FindUser("joe", "example.com")!;
        Assert.Equal(UserFlags.NoImap, joe.Flags);               // the admin's change
        Assert.StartsWith("$argon2id$", joe.PasswordHash);      // and the login's upgrade
        Assert.True(_hasher.Verify(joe.PasswordHash, "testpw"));
    }

    [Fact]
    public async Task A_password_set_during_a_hash_upgrade_is_not_overwritten()
    {
        var result = await LoginWhileAsync(() => _m.Admin().SetPasswordAsync(Actor.System, "joe@example.com", new PasswordInput.Clear("newpw")));

        Assert.True(result.Succeeded); // the password was right when it was checked
        var joe = _m.Store.FindUser("joe", "example.com")!;
        Assert.True(_hasher.Verify(joe.PasswordHash, "newpw"));  // the admin's password stands
        Assert.False(_hasher.Verify(joe.PasswordHash, "testpw"));
    }

    [Fact]
    public void A_quota_change_racing_a_flag_change_loses_neither()
    {
        var joe = _m.Store.FindUser("joe", "example.com")!;
        using var other = new SqliteAccountStore(Db);
        // Two admins, each with the record it read before the other wrote.
        Assert.True(_m.Store.PatchUser(joe.Id, new UserPatch { Quota = new Quota(1000, 10) }));
        Assert.True(other.PatchUser(joe.Id, new UserPatch { SetFlags = UserFlags.NoPop, Gecos = "Joe" }));

        var now = _m.Store.FindUser("joe", "example.com")!;
        Assert.Equal((new Quota(1000, 10), UserFlags.NoPop, "Joe", LegacyHash), (now.Quota, now.Flags, now.Gecos, now.PasswordHash));
        Assert.False(other.PatchUser(joe.Id + 1000, new UserPatch { Gecos = "nobody" })); // no such user
    }

    [Fact]
    public async Task Clearing_flags_then_setting_some_keeps_only_those()
    {
        (await _m.Run("user", "mod", "joe@example.com", "--set", "no-pop", "--set", "no-imap")).Ok();
        var joe = await _m.Admin().ModifyUserAsync(Actor.System, "joe@example.com", new UserChange { ClearFlags = true, Set = UserFlags.NoSmtp });
        Assert.Equal(UserFlags.NoSmtp, joe.Flags);
        Assert.Equal(UserFlags.NoSmtp, _m.Store.FindUser("joe", "example.com")!.Flags);
    }
}
