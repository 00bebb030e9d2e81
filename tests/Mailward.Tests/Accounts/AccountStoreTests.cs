// The SQLite store's read path: migrations recorded in the database, WAL mode, and the read cache
// that sees changes made here at once and changes made by another process within its interval.
using Mailward.Core.Accounts;
using Mailward.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Mailward.Tests.Accounts;

public sealed class AccountStoreTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public AccountStoreTests() => _m.Run("domain", "add", "example.com", "pw").GetAwaiter().GetResult().Ok();

    public void Dispose() => _m.Dispose();

    private string Db => $"Data Source={Path.Combine(_m.Data, "accounts.db")}";

    [Fact]
    public void Schema_is_versioned_in_the_database_and_in_wal_mode()
    {
        Assert.Equal(3, _m.Store.SchemaVersion); // 2: roaming grants; 3: grants name their user
        using var c = new SqliteConnection(Db);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", cmd.ExecuteScalar());
        cmd.CommandText = "SELECT COUNT(*) FROM schema_migrations";
        Assert.Equal(3L, cmd.ExecuteScalar());
        // Opening again applies nothing twice.
        using var again = new SqliteAccountStore(Db);
        Assert.Equal(3, again.SchemaVersion);
    }

    [Fact]
    public void A_store_newer_than_the_program_is_refused()
    {
        using (var c = new SqliteConnection(Db))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO schema_migrations(version, applied_at) VALUES (99, 0)";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<AccountException>(() => new SqliteAccountStore(Db));
        Assert.Contains("newer than this program", e.Message);
    }

    [Fact]
    public void Migration_3_gives_each_roaming_grant_its_user()
    {
        var path = Path.Combine(_m.Data, "v2.db");
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);" +
                Schema.Migrations[0].Sql + Schema.Migrations[1].Sql + """
                INSERT INTO schema_migrations VALUES (1, 0), (2, 0);
                INSERT INTO domains(id, name, dir, created_at) VALUES (1, 'example.com', 'e', 0);
                INSERT INTO users(id, domain_id, local, password_hash, dir, created_at) VALUES (7, 1, 'joe', '*', 'j', 0);
                INSERT INTO roaming(address, login, expires_at) VALUES ('192.0.2.1', 'joe@example.com', 4000000000), ('192.0.2.2', 'gone@example.com', 4000000000);
                """;
            cmd.ExecuteNonQuery();
        }
        using var store = new SqliteAccountStore($"Data Source={path}");
        Assert.Equal(3, store.SchemaVersion);
        var grant = Assert.Single(store.ListRoaming(DateTimeOffset.UtcNow)); // a grant whose user is gone names no one: dropped
        Assert.Equal(("192.0.2.1", 7L, "joe@example.com"), (grant.Address, grant.UserId, grant.Login));
    }

    [Fact]
    public async Task Cache_sees_its_own_writes_at_once_and_others_within_the_interval()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        using var server = new SqliteAccountStore(Db, cacheMaxEntries: 1000, cacheCheckMilliseconds: 1000, time: clock);
        Assert.Null(server.FindUser("joe", "example.com")); // a cached miss

        (await _m.Run("user", "add", "joe@example.com", "pw")).Ok(); // another process's write
        Assert.Null(server.FindUser("joe", "example.com")); // still within the interval: the cached answer
        clock.Advance(TimeSpan.FromMilliseconds(1001));
        Assert.NotNull(server.FindUser("joe", "example.com")); // the change counter moved: re-read

        (await _m.Run("user", "mod", "joe@example.com", "--set", "no-pop")).Ok();
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(UserFlags.NoPop, server.FindUser("joe", "example.com")!.Flags);

        // A write through this store is seen at once, without waiting for the interval.
        server.UpdateUser(server.FindUser("joe", "example.com")! with { Gecos = "changed here" });
        Assert.Equal("changed here", server.FindUser("joe", "example.com")!.Gecos);
    }

    [Fact]
    public void Cache_stays_bounded()
    {
        using var store = new SqliteAccountStore(Db, cacheMaxEntries: 10, cacheCheckMilliseconds: 60_000);
        for (var i = 0; i < 100; i++)
            Assert.Null(store.FindUser($"nobody{i}", "example.com"));
        var cache = typeof(SqliteAccountStore).GetField("_cache", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(store)!;
        var entries = (System.Collections.ICollection)cache.GetType().GetField("_entries", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(cache)!;
        Assert.True(entries.Count <= 10, $"{entries.Count} entries");
    }
}
