// The login throttles and sending counts that nodes on one PostgreSQL store share (schema migration
// 10, docs/multi-node.md): two store instances on one database stand for two nodes, each with its own
// LoginService and SendingLimits as `mailward serve` makes them. Failures on A throttle the client
// and the account on B; a good login on B takes back only its own pair's failures made on A; sent
// messages count across both. While PostgreSQL is stopped (a private cluster) the throttle check
// fails the login temporarily instead of being skipped, a throttled address stays throttled after,
// and a message accepted during the outage is counted once the store is back.
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Cache;
using Mailward.Core.Accounts.Postgres;
using Mailward.Core.Auth;
using Mailward.Core.Passwords;
using Mailward.Core.Policy;
using Mailward.Tests.Support;

namespace Mailward.Tests.Accounts;

public sealed class SharedCountersTests : IDisposable
{
    private static readonly PasswordHasher Hasher = new(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 });
    private static readonly LoginOptions Options = new() { MaxFailuresPerClient = 3, MaxFailuresPerAccount = 5 };
    private readonly List<IDisposable> _owned = [];

    public void Dispose()
    {
        foreach (var d in Enumerable.Reverse(_owned))
            d.Dispose();
    }

    private T Own<T>(T d) where T : IDisposable
    {
        _owned.Add(d);
        return d;
    }

    /// <summary>Two nodes' stores on one new database with joe and ann (password "secret"); on <paramref name="cluster"/>, else the run's shared one.</summary>
    private (PostgresAccountStore A, PostgresAccountStore B) TwoNodes(PostgresServer.Cluster? cluster = null)
    {
        var conn = cluster?.CreateDatabase() ?? PostgresServer.CreateDatabase();
        var a = Own(new PostgresAccountStore(conn));
        var domain = a.AddDomain("hosted.test", "hosted.test", CatchAll.Bounce, DomainLimits.None, null, "", 0);
        a.AddUser(domain, new NewUser("joe", Hasher.Hash("secret"), null, "joe", null), "hosted.test/joe", 0);
        a.AddUser(domain, new NewUser("ann", Hasher.Hash("secret"), null, "ann", null), "hosted.test/ann", 0);
        return (a, Own(new PostgresAccountStore(conn)));
    }

    private static LoginFailure Try(LoginService logins, string user, string password, string client) =>
        logins.VerifyAsync(user, password, IPAddress.Parse(client), null, "pop3", UserFlags.None).GetAwaiter().GetResult().Failure;

    [FactWhenPostgres]
    public void Failures_on_one_node_throttle_the_client_and_the_account_on_the_other()
    {
        var (a, b) = TwoNodes();
        var onA = new LoginService(a, Hasher, Options);
        var onB = new LoginService(b, Hasher, Options);
        for (var i = 0; i < 3; i++)
            Assert.Equal(LoginFailure.BadCredentials, Try(onA, "joe@hosted.test", "guess" + i, "192.0.2.1"));
        Assert.Equal(LoginFailure.Throttled, Try(onB, "ann@hosted.test", "secret", "192.0.2.1")); // the client, on the other node, even with a right password
        Assert.Equal(LoginFailure.None, Try(onB, "ann@hosted.test", "secret", "192.0.2.2")); // another client is not

        // The account: 5 failures from anywhere, spread over both nodes and several clients.
        Assert.Equal(LoginFailure.BadCredentials, Try(onB, "joe@hosted.test", "x", "198.51.100.1"));
        Assert.Equal(LoginFailure.BadCredentials, Try(onA, "joe@hosted.test", "x", "198.51.100.2"));
        Assert.Equal(LoginFailure.Throttled, Try(onB, "joe@hosted.test", "secret", "203.0.113.9"));
        Assert.Equal(LoginFailure.Throttled, Try(onA, "joe@hosted.test", "secret", "203.0.113.9"));
    }

    [FactWhenPostgres]
    public void A_good_login_on_one_node_takes_back_only_its_own_pairs_failures_made_on_the_other()
    {
        var (a, b) = TwoNodes();
        var onA = new LoginService(a, Hasher, Options);
        var onB = new LoginService(b, Hasher, Options);
        Assert.Equal(LoginFailure.BadCredentials, Try(onA, "ann@hosted.test", "typo", "192.0.2.1"));
        Assert.Equal(LoginFailure.BadCredentials, Try(onA, "ann@hosted.test", "typo", "192.0.2.1"));
        Assert.Equal(LoginFailure.None, Try(onB, "ann@hosted.test", "secret", "192.0.2.1")); // her typos stop counting against the address
        Assert.Equal(LoginFailure.BadCredentials, Try(onA, "joe@hosted.test", "guess", "192.0.2.1"));
        Assert.Equal(LoginFailure.BadCredentials, Try(onB, "joe@hosted.test", "guess", "192.0.2.1"));
        Assert.Equal(LoginFailure.None, Try(onA, "ann@hosted.test", "secret", "192.0.2.1")); // 2 counted, not 4
        Assert.Equal(LoginFailure.BadCredentials, Try(onB, "joe@hosted.test", "guess", "192.0.2.1"));
        // Ann's good login cleared only her pair: the guesses at joe still count, on either node.
        Assert.Equal(LoginFailure.Throttled, Try(onB, "ann@hosted.test", "secret", "192.0.2.1"));
        Assert.Equal(LoginFailure.Throttled, Try(onA, "ann@hosted.test", "secret", "192.0.2.1"));
    }

    [FactWhenPostgres]
    public void Messages_sent_through_either_node_count_against_one_hourly_limit()
    {
        var (a, b) = TwoNodes();
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var limit = new SendingLimit(3, 0);
        var onA = new SendingLimits(limit, new Dictionary<string, SendingLimit>(), time, a);
        var onB = new SendingLimits(limit, new Dictionary<string, SendingLimit>(), time, b);
        Assert.True(onA.MayStartMessage("joe@hosted.test", "hosted.test"));
        onA.Sent("joe@hosted.test", "hosted.test");
        onA.Sent("joe@hosted.test", "hosted.test");
        Assert.True(onB.MayStartMessage("joe@hosted.test", "hosted.test"));
        onB.Sent("Joe@hosted.test", "hosted.test"); // one user, however the address is spelled
        Assert.False(onA.MayStartMessage("joe@hosted.test", "hosted.test"));
        Assert.False(onB.MayStartMessage("joe@hosted.test", "hosted.test"));
        Assert.True(onB.MayStartMessage("ann@hosted.test", "hosted.test"));
        time.Advance(TimeSpan.FromMinutes(61)); // a sliding hour: the three have left it
        Assert.True(onB.MayStartMessage("joe@hosted.test", "hosted.test"));
    }

    [FactWhenPostgres]
    public void While_postgres_is_stopped_the_throttle_answers_a_temporary_failure_and_a_throttled_client_stays_throttled()
    {
        using var cluster = PostgresServer.StartPrivate();
        var (a, b) = TwoNodes(cluster);
        var onA = new LoginService(a, Hasher, Options);
        // B as a node has it: the lookups through its read cache, which keeps serving while the store is away.
        var cache = Own(CachedAccountDirectory.Over(b, AccountCacheOptions.Default with { CheckInterval = TimeSpan.Zero }));
        var onB = new LoginService(b, Hasher, Options, directory: cache);
        Assert.Equal(LoginFailure.None, Try(onB, "ann@hosted.test", "secret", "192.0.2.9")); // the cache learns ann
        var joe = b.FindUser("joe", "hosted.test")!;
        for (var i = 0; i < 3; i++)
            Assert.Equal(LoginFailure.BadCredentials, Try(onA, "joe@hosted.test", "guess" + i, "192.0.2.1"));
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var sending = new SendingLimits(new SendingLimit(2, 0), new Dictionary<string, SendingLimit>(), time, a);

        cluster.Halt();
        // Ann's record is cached, so the throttle is the first thing that needs the store. It cannot be read: never skipped, never a wrong-password answer, never an exception out of the login.
        Assert.Equal(LoginFailure.Unavailable, Try(onB, "ann@hosted.test", "secret", "192.0.2.1"));
        Assert.Equal(LoginFailure.Unavailable, Try(onB, "ann@hosted.test", "secret", "192.0.2.9"));
        Assert.Throws<AccountStoreUnavailableException>(() => onB.IsThrottled(joe, IPAddress.Parse("192.0.2.1"))); // the web's second step answers 503 for it
        Assert.Throws<AccountStoreUnavailableException>(() => sending.MayStartMessage("joe@hosted.test", "hosted.test")); // MAIL: 451 4.3.0
        sending.Sent("joe@hosted.test", "hosted.test"); // a message accepted just before: kept here, no exception

        cluster.Resume();
        // Throttled before, throttled after (the counts live in the store); the outage counted as no failure.
        Assert.Equal(LoginFailure.Throttled, Try(onB, "ann@hosted.test", "secret", "192.0.2.1"));
        Assert.Equal(LoginFailure.None, Try(onB, "ann@hosted.test", "secret", "192.0.2.9"));
        // The message accepted during the outage reaches the store with the next check, and the other node sees it.
        Assert.True(sending.MayStartMessage("joe@hosted.test", "hosted.test"));
        var onB2 = new SendingLimits(new SendingLimit(2, 0), new Dictionary<string, SendingLimit>(), time, b);
        onB2.Sent("joe@hosted.test", "hosted.test");
        Assert.False(onB2.MayStartMessage("joe@hosted.test", "hosted.test"));
        Assert.False(sending.MayStartMessage("joe@hosted.test", "hosted.test"));
    }
}
