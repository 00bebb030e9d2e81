// The read cache in front of a provider (CachedAccountDirectory) over the real SQLite store: it sees
// writes made here at once and writes of another process within its interval, stays bounded per
// kind, and a flood of lookups for missing names cannot push out the answers that exist.
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Cache;
using Mailward.Tests.Support;

namespace Mailward.Tests.Accounts;

public sealed class AccountCacheTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public AccountCacheTests() => _m.Run("domain", "add", "example.com", "pw").GetAwaiter().GetResult().Ok();

    public void Dispose() => _m.Dispose();

    private string Db => $"Data Source={Path.Combine(_m.Data, "accounts.db")}";

    /// <summary>The real store, counting the lookups that reach it.</summary>
    private sealed class CountingDirectory(SqliteAccountStore store) : IAccountDirectory
    {
        public int Domains, Users, Aliases;

        public ValueTask<DomainRecord?> FindDomainAsync(string name, CancellationToken ct = default)
        {
            Interlocked.Increment(ref Domains);
            return store.FindDomainAsync(name, ct);
        }

        public ValueTask<UserRecord?> FindUserAsync(string local, string domain, CancellationToken ct = default)
        {
            Interlocked.Increment(ref Users);
            return store.FindUserAsync(local, domain, ct);
        }

        public ValueTask<AliasRecord?> FindAliasAsync(string local, string domain, CancellationToken ct = default)
        {
            Interlocked.Increment(ref Aliases);
            return store.FindAliasAsync(local, domain, ct);
        }

        public ValueTask<string?> MapIpToDomainAsync(string address, CancellationToken ct = default) => store.MapIpToDomainAsync(address, ct);
    }

    [Fact]
    public async Task Cache_sees_its_own_writes_at_once_and_others_within_the_interval()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        using var store = new SqliteAccountStore(Db, clock);
        using var server = CachedAccountDirectory.Over(store, new AccountCacheOptions(1000, 1000, TimeSpan.FromSeconds(1)), clock);
        Assert.Null(await server.FindUserAsync("joe", "example.com")); // a cached miss

        (await _m.Run("user", "add", "joe@example.com", "pw")).Ok(); // another process's write
        Assert.Null(await server.FindUserAsync("joe", "example.com")); // still within the interval: the cached answer
        clock.Advance(TimeSpan.FromMilliseconds(1001));
        Assert.NotNull(await server.FindUserAsync("joe", "example.com")); // the change counter moved: re-read

        (await _m.Run("user", "mod", "joe@example.com", "--set", "no-pop")).Ok();
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(UserFlags.NoPop, (await server.FindUserAsync("joe", "example.com"))!.Flags);

        // A write through the provider in this process is seen at once, without waiting for the interval.
        store.UpdateUser((await server.FindUserAsync("joe", "example.com"))! with { Gecos = "changed here" });
        Assert.Equal("changed here", (await server.FindUserAsync("joe", "example.com"))!.Gecos);
    }

    [Fact]
    public async Task Each_kind_stays_bounded()
    {
        using var store = new SqliteAccountStore(Db);
        using var cache = CachedAccountDirectory.Over(store, new AccountCacheOptions(10, 10, TimeSpan.FromMinutes(1)));
        for (var i = 0; i < 100; i++)
        {
            Assert.Null(await cache.FindUserAsync($"nobody{i}", "example.com"));
            Assert.Null(await cache.FindAliasAsync($"nobody{i}", "example.com"));
            Assert.Null(await cache.FindDomainAsync($"nowhere{i}.test"));
            Assert.Null(await cache.MapIpToDomainAsync($"192.0.2.{i}"));
        }
        var e = cache.Current;
        foreach (var count in new[] { e.Users.Missing.Count, e.Aliases.Missing.Count, e.Domains.Missing.Count, e.Ips.Missing.Count })
            Assert.InRange(count, 1, 10);
    }

    [Fact]
    public async Task A_flood_of_misses_leaves_the_users_that_exist_cached()
    {
        (await _m.Run("user", "add", "joe@example.com", "pw")).Ok();
        (await _m.Run("alias", "add", "info@example.com", "joe@example.com")).Ok();
        using var store = new SqliteAccountStore(Db);
        var counting = new CountingDirectory(store);
        using var cache = new CachedAccountDirectory(counting, store, new AccountCacheOptions(MaxEntries: 100, MaxMisses: 50, TimeSpan.FromMinutes(1)));
        Assert.NotNull(await cache.FindUserAsync("joe", "example.com"));
        Assert.NotNull(await cache.FindAliasAsync("info", "example.com"));
        var (domains, users, aliases) = (counting.Domains, counting.Users, counting.Aliases);

        // A dictionary attack: 5,000 RCPTs to names that do not exist, 100 times what the misses may hold.
        for (var i = 0; i < 5000; i++)
        {
            Assert.Null(await cache.FindAliasAsync($"guess{i}", "example.com"));
            Assert.Null(await cache.FindUserAsync($"guess{i}", "example.com"));
        }
        Assert.Equal(users + 5000, counting.Users); // each miss cost one query: they were not all kept
        Assert.InRange(cache.Current.Users.Missing.Count, 1, 50);

        Assert.Equal("joe@example.com", (await cache.FindUserAsync("joe", "example.com"))!.Address);
        Assert.NotNull(await cache.FindAliasAsync("info", "example.com"));
        Assert.Equal((domains, users + 5000, aliases + 5000), (counting.Domains, counting.Users, counting.Aliases)); // answered from the cache
    }

    private static bool Completed<T>(ValueTask<T> pending) => pending.IsCompletedSuccessfully;

    [Fact]
    public async Task A_cached_answer_completes_synchronously()
    {
        (await _m.Run("user", "add", "joe@example.com", "pw")).Ok();
        using var store = new SqliteAccountStore(Db);
        using var cache = CachedAccountDirectory.Over(store, new AccountCacheOptions(100, 100, TimeSpan.FromMinutes(1)));
        await cache.FindUserAsync("joe", "example.com");
        await cache.FindUserAsync("nobody", "example.com");
        Assert.True(Completed(cache.FindUserAsync("joe", "example.com")));
        Assert.True(Completed(cache.FindUserAsync("nobody", "example.com")));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            await cache.FindUserAsync("joe", "example.com"); // completed: the await goes on without suspending
            await cache.FindUserAsync("nobody", "example.com");
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before); // the benchmark's cached path: no garbage per lookup
    }
}
