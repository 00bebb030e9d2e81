// mailward accounts copy: a SQLite store with one of every kind of row copied into PostgreSQL and
// back, the copies compared row for row through the stores' own reads, a re-run after changes,
// and a target holding other domains refused untouched.
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Postgres;
using Mailward.Core.Greylist;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class AccountsCopyTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly List<string> _databases = [];

    public void Dispose()
    {
        _m.Dispose();
        foreach (var d in _databases)
            PostgresServer.DropDatabase(d);
    }

    private string NewDatabase()
    {
        var d = PostgresServer.CreateDatabase();
        _databases.Add(d);
        return d;
    }

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    /// <summary>One of every kind of row, through the commands and the store.</summary>
    private async Task FillAsync()
    {
        (await _m.Run("domain", "add", "example.com", "pw")).Ok();
        (await _m.Run("domain", "add", "other.test", "pw")).Ok();
        (await _m.Run("domain", "alias", "add", "example.net", "example.com")).Ok();
        (await _m.Run("domain", "limits", "example.com", "--max-users", "50", "--max-forwards", "7")).Ok();
        (await _m.Run("user", "add", "joe@example.com", "secret")).Ok();
        (await _m.Run("user", "mod", "joe@example.com", "--set", "no-pop")).Ok();
        (await _m.Run("user", "quota", "joe@example.com", "5M")).Ok();
        (await _m.Run("alias", "add", "info@example.com", "&joe@example.com")).Ok();
        (await _m.Run("alias", "add", "info@example.com", "&ann@remote.test")).Ok();
        (await _m.Run("relay", "allow", "192.0.2.0/24")).Ok();
        (await _m.Run("ipmap", "add", "192.0.2.10", "example.com")).Ok();
        var s = _m.Store;
        var d = s.FindDomain("example.com")!;
        var joe = s.FindUser("joe", "example.com")!;
        s.SetCatchAll(d.Id, new CatchAll(CatchAllKind.Forward, "joe@example.com"));
        s.RecordLogin(joe.Id, new LastLogin(Now, "192.0.2.7", "pop3"));
        s.GrantRoaming(new RoamingGrant("192.0.2.7", joe.Id, joe.Address, Now, Now.AddHours(1)));
        s.SetAutoresponder(new AutoresponderRecord(d.Id, "joe", "Away", "Back Monday", Now, Now.AddDays(3), 7, true, Now), null);
        Assert.True(s.TryRecordReply(d.Id, "joe", "friend@remote.test", Now, Now.AddDays(7), 100));
        s.CheckGreylist(new GreylistTriplet("198.51.100.0/24", "a@remote.test", "joe@example.com"), Now, new GreylistOptions());
    }

    /// <summary>What a store holds, read through its own API, as one comparable text.</summary>
    private static string Contents(IAccountStore s)
    {
        var lines = new List<string>();
        foreach (var d in s.ListDomains())
        {
            lines.Add($"domain {d}");
            lines.Add($"aliases-of {d.Name}: {string.Join(",", s.ListDomainAliases(d.Id))}");
            lines.AddRange(s.ListUsers(d.Id).Select(u => $"user {u}"));
            lines.AddRange(s.ListAliases(d.Id).Select(a => $"alias {a.Address} {string.Join(",", a.Lines)}"));
            lines.AddRange(s.ListAutoresponders(d.Id).Select(a => $"vacation {a}"));
            lines.AddRange(s.ListUsers(d.Id).Select(u => $"replies {u.Address} {s.CountRememberedSenders(d.Id, u.Local, Now)}"));
        }
        lines.AddRange(s.ListRelayRules().Select(r => $"relay {r}"));
        lines.AddRange(s.ListIpMap().Select(e => $"ipmap {e}"));
        lines.AddRange(s.ListRoaming(Now).Select(g => $"roaming {g.Address} {g.UserId} {g.Login} {g.ExpiresAt.ToUnixTimeSeconds()}"));
        return string.Join("\n", lines);
    }

    [FactWhenPostgres]
    public async Task A_store_goes_to_PostgreSQL_and_back_whole_and_a_rerun_brings_the_changes()
    {
        await FillAsync();
        var pg = NewDatabase();
        var first = await _m.Run("accounts", "copy", "--to", $"postgres:{pg}");
        first.Ok();
        Assert.Contains("users: 3 rows", first.Out); // joe and the two postmasters
        Assert.Contains("every count matches the source", first.Out);
        var expected = Contents(_m.Store);
        using (var copy = new PostgresAccountStore(pg))
        {
            Assert.Equal(expected, Contents(copy));
            // The greylisting triplet came along: its retry after the delay passes (a new one would be deferred).
            var retry = copy.CheckGreylist(new GreylistTriplet("198.51.100.0/24", "a@remote.test", "joe@example.com"), Now.AddMinutes(10), new GreylistOptions());
            Assert.Equal((true, "retried"), (retry.Passed, retry.Why));
        }

        // A re-run after changes on the source: the target holds the source again, no row twice.
        (await _m.Run("user", "add", "ann@other.test", "pw")).Ok();
        (await _m.Run("user", "del", "joe@example.com")).Ok();
        (await _m.Run("accounts", "copy", "--to", $"postgres:{pg}")).Ok();
        (await _m.Run("accounts", "copy", "--to", $"postgres:{pg}")).Ok();
        using (var copy = new PostgresAccountStore(pg))
        {
            Assert.Equal(Contents(_m.Store), Contents(copy));
            // New rows on the copy take new ids after the copied ones.
            var other = copy.FindDomain("other.test")!;
            var bob = copy.AddUser(other, new NewUser("bob", "*", null, "bob", null), "other.test/bob", 0);
            Assert.True(bob.Id > _m.Store.ListDomains().SelectMany(d => _m.Store.ListUsers(d.Id)).Max(u => u.Id));
        }

        // And back: PostgreSQL to a new SQLite file, from a data folder set to PostgreSQL.
        var back = Path.Combine(_m.Data, "back.db");
        (await _m.Run($"--Accounts:Provider=postgres", $"--Accounts:ConnectionString={pg}", "accounts", "copy", "--to", $"sqlite:{back}")).Ok();
        using var returned = new SqliteAccountStore($"Data Source={back}");
        using var source = new PostgresAccountStore(pg);
        Assert.Equal(Contents(source), Contents(returned));
        Assert.NotNull(returned.FindUser("bob", "other.test"));
    }

    [FactWhenPostgres]
    public async Task A_target_holding_other_domains_is_refused_and_left_as_it_was()
    {
        await FillAsync();
        var pg = NewDatabase();
        using (var target = new PostgresAccountStore(pg))
            target.AddDomain("unrelated.test", "unrelated.test", CatchAll.Bounce, DomainLimits.None, null, "", 0);

        var refused = await _m.Run("accounts", "copy", "--to", $"postgres:{pg}");
        Assert.NotEqual(0, refused.Code);
        Assert.Contains("unrelated.test", refused.Err);
        using var after = new PostgresAccountStore(pg);
        Assert.Equal(["unrelated.test"], after.ListDomains().Select(d => d.Name));
    }
}
