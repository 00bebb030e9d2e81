// mailward user prune and vdeloldusers against users whose last logins (and creation times) the
// test drives through the account store and its SQLite file: the dry run lists and deletes nothing,
// --delete removes exactly the idle users through `user del`'s path, postmaster, abuse and system
// admins are never touched, the exclude file is honoured, never-logged-in users count from creation.
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class UserPruneTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public void Dispose() => _m.Dispose();

    /// <summary>
    /// a.test: postmaster (idle 1,000 days), abuse (idle), root (system admin, idle), old (pop3 400
    /// days ago), recent (imap 10 days ago), ghost (never logged in, created 300 days ago), fresh
    /// (never logged in, created now), kept (idle, in the exclude file); b.test: stale (smtp 200 days).
    /// </summary>
    private async Task SetUpAsync()
    {
        (await _m.Run("domain", "add", "a.test", "pw")).Ok();
        (await _m.Run("domain", "add", "b.test", "--no-postmaster")).Ok();
        foreach (var a in new[] { "abuse@a.test", "root@a.test", "old@a.test", "recent@a.test", "ghost@a.test", "fresh@a.test", "kept@a.test", "stale@b.test" })
            await _m.Admin().AddUserAsync(Actor.System, a, new PasswordInput.NoPassword());
        (await _m.Run("user", "mod", "root@a.test", "--set", "system-admin")).Ok();
        Login("postmaster@a.test", 1000, "pop3");
        Login("abuse@a.test", 1000, "pop3");
        Login("root@a.test", 1000, "imap");
        Login("old@a.test", 400, "pop3");
        Login("recent@a.test", 10, "imap");
        Login("kept@a.test", 500, "imap");
        Login("stale@b.test", 200, "smtp");
        Created("ghost@a.test", 300);
    }

    private void Login(string address, int daysAgo, string service)
    {
        var a = Core.Addresses.MailAddress.Parse(address);
        var u = _m.Store.FindUser(a.Local, a.Domain)!;
        _m.Store.RecordLogin(u.Id, new LastLogin(Now - TimeSpan.FromDays(daysAgo), "192.0.2.7", service));
    }

    private void Created(string address, int daysAgo)
    {
        var a = Core.Addresses.MailAddress.Parse(address);
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_m.Data, "accounts.db")}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE users SET created_at = $t WHERE id = $id";
        cmd.Parameters.AddWithValue("$t", (Now - TimeSpan.FromDays(daysAgo)).ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$id", _m.Store.FindUser(a.Local, a.Domain)!.Id);
        cmd.ExecuteNonQuery();
    }

    private bool Exists(string address)
    {
        var a = Core.Addresses.MailAddress.Parse(address);
        return _m.Store.FindUser(a.Local, a.Domain) is not null;
    }

    private static string[] AddressesIn(string table) =>
        table.Split('\n').Skip(1).Where(l => l.Contains('@', StringComparison.Ordinal) && !l.Contains("users not active", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[0]).ToArray();

    [Fact]
    public async Task The_dry_run_lists_the_idle_users_and_deletes_nothing()
    {
        await SetUpAsync();
        var exclude = Path.Combine(_m.Data, "..", "keep.txt");
        File.WriteAllText(exclude, "kept@a.test\n");
        var r = (await _m.Run("user", "prune", "--days", "180", "-e", exclude)).Ok();
        Assert.Equal(["old@a.test", "ghost@a.test", "stale@b.test"], AddressesIn(r.Out)); // longest idle first
        Assert.Contains("pop3 login from 192.0.2.7", r.Out);
        Assert.Contains("never logged in: created", r.Out);
        Assert.Contains("3 users not active for 180 days", r.Out);
        Assert.Contains("dry run, nothing deleted", r.Out);
        foreach (var a in new[] { "old@a.test", "ghost@a.test", "stale@b.test", "kept@a.test" })
            Assert.True(Exists(a), a);

        var domainOnly = (await _m.Run("user", "prune", "--days", "180", "b.test")).Ok();
        Assert.Equal(["stale@b.test"], AddressesIn(domainOnly.Out));
        var withoutExclude = (await _m.Run("user", "prune", "--days", "180", "a.test")).Ok();
        Assert.Equal(["kept@a.test", "old@a.test", "ghost@a.test"], AddressesIn(withoutExclude.Out)); // kept is idle too
    }

    [Fact]
    public async Task Delete_removes_exactly_the_idle_users_and_their_mail()
    {
        await SetUpAsync();
        var oldFolder = _m.UserFolder("old@a.test");
        var exclude = Path.Combine(_m.Data, "..", "keep.txt");
        File.WriteAllText(exclude, "kept@a.test\n");
        var r = (await _m.Run("user", "prune", "--days", "180", "--delete", "-e", exclude)).Ok();
        Assert.Contains("deleted 3", r.Out);
        foreach (var gone in new[] { "old@a.test", "ghost@a.test", "stale@b.test" })
            Assert.False(Exists(gone), gone);
        foreach (var kept in new[] { "postmaster@a.test", "abuse@a.test", "root@a.test", "recent@a.test", "fresh@a.test", "kept@a.test" })
            Assert.True(Exists(kept), kept);
        Assert.False(Directory.Exists(oldFolder));
    }

    [Fact]
    public async Task Json_report()
    {
        await SetUpAsync();
        var r = (await _m.Run("user", "prune", "--days", "250", "--json", "a.test")).Ok();
        using var doc = JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("dryRun").GetBoolean());
        var users = doc.RootElement.GetProperty("users").EnumerateArray().ToList();
        Assert.Equal(["kept@a.test", "old@a.test", "ghost@a.test"], users.Select(u => u.GetProperty("address").GetString()!));
        Assert.True(users[2].GetProperty("neverLoggedIn").GetBoolean());
        Assert.Equal("imap", users[0].GetProperty("service").GetString());
        Assert.InRange(users[1].GetProperty("idleDays").GetInt32(), 399, 400);
    }

    [Fact]
    public async Task Vdeloldusers_flags()
    {
        await SetUpAsync();
        Assert.Equal(1, (await _m.Run("vdeloldusers", "-a", "180")).Code); // neither -d nor -e
        var listed = (await _m.Run("vdeloldusers", "-V", "-a", "180", "-d", "a.test")).Ok();
        Assert.Equal(["kept@a.test", "old@a.test", "ghost@a.test", "** no users were deleted  **", "** use -D to delete users **"],
            listed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.True(Exists("old@a.test"));
        Assert.Contains("no old users found", (await _m.Run("vdeloldusers", "-a", "2000", "-e")).Ok().Out);

        var exclude = Path.Combine(_m.Data, "..", "keep.txt");
        File.WriteAllText(exclude, "kept@a.test\n");
        (await _m.RunAs("vdeloldusers", "-e", "-D", "-a", "180", "-x", exclude)).Ok(); // a link named vdeloldusers; every domain
        foreach (var gone in new[] { "old@a.test", "ghost@a.test", "stale@b.test" })
            Assert.False(Exists(gone), gone);
        foreach (var kept in new[] { "postmaster@a.test", "abuse@a.test", "root@a.test", "recent@a.test", "fresh@a.test", "kept@a.test" })
            Assert.True(Exists(kept), kept);
    }
}
