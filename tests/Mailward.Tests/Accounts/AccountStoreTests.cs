// The SQLite store's schema: migrations recorded in the database, WAL mode. (The read cache in
// front of it: AccountCacheTests.)
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
        Assert.Equal(13, _m.Store.SchemaVersion); // 2: roaming grants; 3: grants name their user; 4: autoresponders; 5: greylisting; 6: API keys, admin grants, TOTP; 8: nodes; 9: the audit log; 10: shared counters; 11: kept user counts; 12: the trigram search index; 13: the aliases' trigram index
        using var c = new SqliteConnection(Db);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", cmd.ExecuteScalar());
        cmd.CommandText = "SELECT COUNT(*) FROM schema_migrations";
        Assert.Equal((long)Schema.Migrations.Count, cmd.ExecuteScalar());
        // Opening again applies nothing twice.
        using var again = new SqliteAccountStore(Db);
        Assert.Equal(13, again.SchemaVersion);
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
        Assert.Equal(13, store.SchemaVersion); // every later migration ran too
        var grant = Assert.Single(store.ListRoaming(DateTimeOffset.UtcNow)); // a grant whose user is gone names no one: dropped
        Assert.Equal(("192.0.2.1", 7L, "joe@example.com"), (grant.Address, grant.UserId, grant.Login));
    }

    [Fact]
    public void A_step_missing_below_the_highest_applied_is_applied_too()
    {
        // Numbers are reserved ahead of landing: a store that met step 9 before an earlier step existed gets that step when it comes.
        using (var c = new SqliteConnection(Db))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "DROP TABLE totp; DELETE FROM schema_migrations WHERE version = 6; DROP TABLE api_keys; DROP TABLE api_key_domains; DROP TABLE admin_grants";
            cmd.ExecuteNonQuery();
        }
        using var store = new SqliteAccountStore(Db);
        Assert.Equal(13, store.SchemaVersion);
        Assert.Null(store.FindTotp(1)); // the table is back
        Assert.Empty(store.ListApiKeys());
    }

    [Fact]
    public void Migration_11_counts_the_users_each_domain_already_has()
    {
        var path = Path.Combine(_m.Data, "v9.db");
        using (var store = new SqliteAccountStore($"Data Source={path}"))
        {
            var a = store.AddDomain("a.test", "a", CatchAll.Bounce, DomainLimits.None, null, "", 0);
            var b = store.AddDomain("b.test", "b", CatchAll.Bounce, DomainLimits.None, null, "", 0);
            foreach (var (d, local) in new[] { (a, "x"), (a, "y"), (a, "z"), (b, "x") })
                store.AddUser(d, new NewUser(local, "*", null, local, null), $"{d.Directory}/{local}", 0);
        }
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            // The store as version 9 left it: no count column, migration 11 not applied.
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "ALTER TABLE domains DROP COLUMN user_count; DELETE FROM schema_migrations WHERE version = 11";
            cmd.ExecuteNonQuery();
        }
        using var migrated = new SqliteAccountStore($"Data Source={path}");
        Assert.Equal(13, migrated.SchemaVersion);
        Assert.Equal((3, 1), (migrated.CountUsers(migrated.FindDomain("a.test")!.Id), migrated.CountUsers(migrated.FindDomain("b.test")!.Id)));
    }

    [Fact]
    public void Migration_12_indexes_the_users_and_domains_a_store_already_has_and_keeps_the_index_in_step()
    {
        var path = Path.Combine(_m.Data, "v11.db");
        using (var store = new SqliteAccountStore($"Data Source={path}"))
        {
            var a = store.AddDomain("alpha.test", "a", CatchAll.Bounce, DomainLimits.None, null, "", 0);
            foreach (var local in new[] { "smith", "smithy", "jones" })
                store.AddUser(a, new NewUser(local, "*", null, local, null), $"{a.Directory}/{local}", 0);
        }
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            // The store as version 11 left it: no search tables, no triggers, migration 12 not applied.
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                DROP TRIGGER users_search_insert; DROP TRIGGER users_search_delete; DROP TRIGGER users_search_update;
                DROP TRIGGER domains_search_insert; DROP TRIGGER domains_search_delete; DROP TRIGGER domains_search_update;
                DROP TABLE users_search; DROP TABLE domains_search; DELETE FROM schema_migrations WHERE version = 12
                """;
            cmd.ExecuteNonQuery();
        }
        using var migrated = new SqliteAccountStore($"Data Source={path}");
        Assert.Equal(13, migrated.SchemaVersion);
        var domain = migrated.FindDomain("alpha.test")!;
        Assert.Equal(["smith", "smithy"], migrated.ListUsers(domain.Id, new PageRequest(Search: "MITH")).Items.Select(u => u.Local));
        Assert.Equal(["alpha.test"], migrated.ListDomains(new PageRequest(Search: "pha.t")).Items.Select(d => d.Name));
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            // A row written straight to the table (as bench/web-admin.sh and any other tool do) is in
            // the index too: the triggers, not the store's code, keep it.
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"INSERT INTO users(domain_id, local, password_hash, dir, created_at) VALUES ({domain.Id}, 'blacksmith', '*', 'a/blacksmith', 0); "
                + "UPDATE users SET local = 'jonesmith' WHERE local = 'jones'; DELETE FROM users WHERE local = 'smithy'";
            cmd.ExecuteNonQuery();
            cmd.CommandText = "SELECT COUNT(*) FROM users_search WHERE users_search MATCH '\"smith\"'";
            Assert.Equal(3L, cmd.ExecuteScalar());
        }
        Assert.Equal(["blacksmith", "jonesmith", "smith"], migrated.ListUsers(domain.Id, new PageRequest(Search: "smith")).Items.Select(u => u.Local));
    }

    [Fact]
    public void Migration_13_indexes_the_aliases_a_store_already_has_and_keeps_the_index_in_step()
    {
        var path = Path.Combine(_m.Data, "v12.db");
        using (var store = new SqliteAccountStore($"Data Source={path}"))
        {
            var a = store.AddDomain("alpha.test", "a", CatchAll.Bounce, DomainLimits.None, null, "", 0);
            store.AddAliasLine(a.Id, "sales", "&boss@remote.test");
            store.AddAliasLine(a.Id, "sales", "&clerk@remote.test");
            store.AddAliasLine(a.Id, "wholesale", "&boss@remote.test");
            store.AddAliasLine(a.Id, "info", "&boss@remote.test");
            var joe = store.AddUser(a, new NewUser("joe", "*", null, "joe", null), $"{a.Directory}/joe", 0);
            store.RecordLogin(joe.Id, new LastLogin(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), "192.0.2.7", "pop3"));
        }
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            // The store as version 12 left it: no aliases_search, no triggers, no user_logins, migration 13 not applied.
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                DROP TRIGGER aliases_search_insert; DROP TRIGGER aliases_search_delete; DROP TRIGGER aliases_search_update;
                DROP TABLE aliases_search; DROP TABLE user_logins; DELETE FROM schema_migrations WHERE version = 13
                """;
            cmd.ExecuteNonQuery();
        }
        using var migrated = new SqliteAccountStore($"Data Source={path}");
        Assert.Equal(13, migrated.SchemaVersion);
        var domain = migrated.FindDomain("alpha.test")!;
        // An address of two lines is found once, with both lines.
        var found = migrated.ListAliases(domain.Id, new PageRequest(Search: "SALE")).Items;
        Assert.Equal(["sales", "wholesale"], found.Select(a => a.Local));
        Assert.Equal(2, found[0].Lines.Count);
        // The one last login a user had becomes its service's.
        var joeAgain = migrated.FindUser("joe", "alpha.test")!;
        Assert.Equal([new LastLogin(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), "192.0.2.7", "pop3")], migrated.ListLogins(joeAgain.Id));
        using (var c = new SqliteConnection($"Data Source={path}"))
        {
            // Rows written straight to the table are in the index too (the triggers keep it).
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"INSERT INTO aliases(domain_id, local, line) VALUES ({domain.Id}, 'resale', '&x@remote.test'); "
                + "UPDATE aliases SET local = 'infosales' WHERE local = 'info'; DELETE FROM aliases WHERE local = 'wholesale'";
            cmd.ExecuteNonQuery();
            cmd.CommandText = "SELECT COUNT(*) FROM aliases_search WHERE aliases_search MATCH '\"sale\"'";
            Assert.Equal(4L, cmd.ExecuteScalar()); // sales (2 lines), resale, infosales
        }
        Assert.Equal(["infosales", "resale", "sales"], migrated.ListAliases(domain.Id, new PageRequest(Search: "sale")).Items.Select(a => a.Local));
    }
}
