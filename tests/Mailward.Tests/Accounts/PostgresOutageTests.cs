// The fault test of issue 14 item 6, with the real executable on a PostgreSQL account store of its
// own: while PostgreSQL is stopped (pg_ctl -m fast, as an operator's restart) the server keeps
// taking mail for the addresses its read cache knows, answers only temporary replies for the rest
// (RCPT 451 4.3.0, POP3 -ERR [SYS/TEMP], IMAP NO [UNAVAILABLE], SMTP AUTH 454 4.7.0), loses and
// bounces nothing, and serves normally again by itself once PostgreSQL is back. The login throttles
// live in the store: an account throttled before the outage gets only temporary answers during it
// (the check cannot be read, so it is not skipped) and is still throttled after it. The relay rules
// read last stay in use through an outage, and a node takes its id and its held cluster locks
// (POP3 mailboxes) again by itself when PostgreSQL returns.
using System.Net;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Cache;
using Mailward.Core.Accounts.Postgres;
using Mailward.Core.Policy;
using Mailward.Core.RateLimit;
using Mailward.Core.Routing;
using Mailward.Tests.Support;
using Npgsql;

namespace Mailward.Tests.Accounts;

public sealed class PostgresOutageTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();
    private readonly PostgresServer.Cluster? _pg = PostgresServer.Unavailable is null ? PostgresServer.StartPrivate() : null;

    public void Dispose()
    {
        _servers.Dispose();
        _pg?.Dispose();
        _m.Dispose();
    }

    private static async Task<string> SmtpAsync(int port, string rcpt, string subject)
    {
        var (s, greeting) = await LineClient.OpenAsync(port);
        using (s)
        {
            Assert.StartsWith("220", greeting);
            Assert.StartsWith("250", await s.SendAsync("EHLO client.test"));
            Assert.StartsWith("250", await s.SendAsync("MAIL FROM:<sender@remote.test>"));
            var answer = await s.SendAsync($"RCPT TO:<{rcpt}>");
            if (!answer.StartsWith("250", StringComparison.Ordinal))
                return answer;
            Assert.StartsWith("354", await s.SendAsync("DATA"));
            var data = await s.SendAsync($"From: sender@remote.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nbody\r\n.");
            await s.SendAsync("QUIT");
            return data;
        }
    }

    private static async Task<string> Pop3Async(int port, string command = "STAT", string user = "joe@hosted.test", string password = "testpw")
    {
        var (p, greeting) = await LineClient.OpenAsync(port);
        using (p)
        {
            Assert.StartsWith("+OK", greeting);
            await p.SendAsync($"USER {user}");
            var pass = await p.SendAsync($"PASS {password}");
            if (!pass.StartsWith("+OK", StringComparison.Ordinal))
                return pass;
            var answer = await p.SendAsync(command);
            await p.SendAsync("QUIT");
            return answer;
        }
    }

    private static async Task<string> ImapAsync(int port, string user = "joe@hosted.test")
    {
        var (i, greeting) = await LineClient.OpenAsync(port);
        using (i)
        {
            Assert.StartsWith("* OK", greeting);
            var answer = await i.SendAsync($"a LOGIN {user} testpw");
            await i.SendAsync("b LOGOUT");
            return answer;
        }
    }

    private static async Task<string> AuthAsync(int port, string user = "joe@hosted.test")
    {
        var (s, greeting) = await LineClient.OpenAsync(port);
        using (s)
        {
            Assert.StartsWith("220", greeting);
            Assert.StartsWith("250", await s.SendAsync("EHLO client.test"));
            var answer = await s.SendAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.ASCII.GetBytes($"\0{user}\0testpw")));
            await s.SendAsync("QUIT");
            return answer;
        }
    }

    [FactWhenPostgres]
    public async Task While_postgres_is_stopped_only_temporary_answers_nothing_lost_and_service_resumes_by_itself()
    {
        var conn = _pg!.CreateDatabase();
        string[] store = ["--Accounts:Provider=postgres", $"--Accounts:ConnectionString={conn}"];
        (await _m.Run([.. store, "vadddomain", "hosted.test", "pw"])).Ok();
        (await _m.Run([.. store, "vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test"])).Ok(); // DES crypt of "testpw"
        (await _m.Run([.. store, "vadduser", "-e", "DmIMm9e5Hc8ic", "ann@hosted.test"])).Ok();
        var (smtp, pop3, imap, submission) = (ServerProcesses.FreePort(), ServerProcesses.FreePort(), ServerProcesses.FreePort(), ServerProcesses.FreePort());
        var server = _servers.Start(_m.Data, smtp, [.. store, "--Log:Level=Warning", $"--Pop3:Port={pop3}", $"--Imap:Port={imap}", $"--Submission:Port={submission}",
            "--Auth:MaxFailuresPerAccount=3",
            "--Submission:AllowPlaintextAuth=loopback", "--Pop3:FailedLoginDelayMilliseconds=0", "--Imap:FailedLoginDelayMilliseconds=0",
            "--Submission:FailedAuthDelayMilliseconds=0", "--Node:Id=node-a", "--Accounts:UnavailableRetrySeconds=2", .. MailwardRunner.FastHashes]);
        await _servers.WaitListeningAsync(server, smtp, pop3, imap, submission);

        // Before: joe's login works everywhere (the first upgrades his legacy hash: a write, which
        // empties the read cache), then the cache learns joe's address (RCPT).
        Assert.StartsWith("+OK", await Pop3Async(pop3));
        Assert.StartsWith("a OK", await ImapAsync(imap));
        Assert.StartsWith("235", await AuthAsync(submission));
        Assert.StartsWith("250", await SmtpAsync(smtp, "joe@hosted.test", "before"));
        // Ann's account is throttled (Auth:MaxFailuresPerAccount=3): the counts live in the store (shared by the nodes).
        for (var i = 0; i < 3; i++)
            Assert.StartsWith("-ERR [AUTH] invalid", await Pop3Async(pop3, user: "ann@hosted.test", password: "guess" + i));
        Assert.StartsWith("-ERR [AUTH] too many", await Pop3Async(pop3, user: "ann@hosted.test"));

        _pg.Halt();
        // Past Accounts:CacheCheckMilliseconds (1 s): the cache has tried the store and kept its answers.
        await Task.Delay(1500);
        var accepted = 1;
        for (var i = 0; i < 10; i++)
        {
            Assert.StartsWith("250", await SmtpAsync(smtp, "joe@hosted.test", $"during {i}")); // in the cache: taken, no loss
            accepted++;
        }
        Assert.StartsWith("451 4.3.0", await SmtpAsync(smtp, "someone@hosted.test", "unknown now")); // not in the cache: later, never 550
        Assert.StartsWith("451 4.3.0", await SmtpAsync(smtp, "joe@other.test", "unknown domain now"));
        Assert.StartsWith("-ERR [SYS/TEMP]", await Pop3Async(pop3));
        Assert.StartsWith("a NO [UNAVAILABLE]", await ImapAsync(imap));
        Assert.StartsWith("454 4.7.0", await AuthAsync(submission));
        // The throttle cannot be read: a temporary failure, neither skipped nor "too many" from a stale memory.
        Assert.StartsWith("-ERR [SYS/TEMP]", await Pop3Async(pop3, user: "ann@hosted.test"));
        Assert.StartsWith("a NO [UNAVAILABLE] the account store is unavailable", await ImapAsync(imap, "ann@hosted.test"));
        Assert.StartsWith("454 4.7.0 Temporary authentication failure", await AuthAsync(submission, "ann@hosted.test"));

        _pg.Resume();
        // By itself: no restart of mailward, the next logins and lookups find PostgreSQL again.
        var stat = "";
        for (var i = 0; i < 100 && !stat.StartsWith($"+OK {accepted} ", StringComparison.Ordinal); i++)
        {
            await Task.Delay(200);
            stat = await Pop3Async(pop3);
        }
        Assert.StartsWith($"+OK {accepted} ", stat); // every message answered 250, once each
        Assert.StartsWith("550 5.1.1", await SmtpAsync(smtp, "someone@hosted.test", "unknown after")); // now the store can say no
        Assert.StartsWith("a OK", await ImapAsync(imap));
        Assert.StartsWith("235", await AuthAsync(submission));
        // Throttled before the outage, throttled after it, in every protocol.
        Assert.StartsWith("-ERR [AUTH] too many", await Pop3Async(pop3, user: "ann@hosted.test"));
        Assert.StartsWith("a NO [UNAVAILABLE] too many failed logins", await ImapAsync(imap, "ann@hosted.test"));
        Assert.StartsWith("454 4.7.0 Too many failed logins", await AuthAsync(submission, "ann@hosted.test"));
        Assert.DoesNotContain(_servers.Output, l => l.Contains("Unhandled", StringComparison.Ordinal));
    }

    [FactWhenPostgres]
    public void The_store_fails_temporarily_while_postgres_is_stopped_and_its_cache_keeps_serving()
    {
        using var store = new PostgresAccountStore(_pg!.CreateDatabase());
        var domain = store.AddDomain("hosted.test", "hosted.test", CatchAll.Bounce, DomainLimits.None, null, "", 0);
        store.AddUser(domain, new NewUser("joe", "*", null, "joe", null), "hosted.test/joe", 0);
        using var cache = CachedAccountDirectory.Over(store, AccountCacheOptions.Default with { CheckInterval = TimeSpan.Zero });
        Assert.NotNull(cache.FindUserAsync("joe", "hosted.test").AsTask().Result);

        _pg.Halt();
        Assert.Throws<AccountStoreUnavailableException>(() => store.FindUser("joe", "hosted.test"));
        Assert.Throws<AccountStoreUnavailableException>(() => store.ListDomains());
        Assert.NotNull(cache.FindUserAsync("joe", "hosted.test").AsTask().Result); // held answers serve
        var miss = Assert.ThrowsAsync<AccountStoreUnavailableException>(() => cache.FindUserAsync("ann", "hosted.test").AsTask());
        miss.Wait();

        _pg.Resume();
        Assert.NotNull(store.FindUser("joe", "hosted.test")); // the pool's broken connections are replaced by itself
        Assert.Null(cache.FindUserAsync("ann", "hosted.test").AsTask().Result);
    }

    [FactWhenPostgres]
    public async Task The_relay_rules_read_last_stay_in_use_while_postgres_is_stopped()
    {
        using var store = new PostgresAccountStore(_pg!.CreateDatabase());
        store.SetRelayRule(new RelayRule("192.0.2.0/24", RelayAction.Allow, "office", DateTimeOffset.UtcNow));
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var read = new SmtpPolicy(store, new RecipientResolver(store), time: time);
        var neverRead = new SmtpPolicy(store, new RecipientResolver(store), time: time);
        var office = new ClientInfo(IPAddress.Parse("192.0.2.7"));
        var stranger = new ClientInfo(IPAddress.Parse("198.51.100.1"));
        Assert.True(read.MayRelay(office));

        _pg.Halt();
        time.Advance(TimeSpan.FromSeconds(6)); // past the rules' refresh: the next answer asks the store, which is away
        // The rules read last answer (this threw, and the door's connect check closed SMTP sessions before their greeting).
        Assert.True(read.MayRelay(office));
        Assert.False(read.MayRelay(stranger));
        // Never read since the start: no answer to keep. The door's rates apply instead of the exemption, and connect still greets.
        Assert.Throws<AccountStoreUnavailableException>(() => neverRead.MayRelay(office));
        var door = new DoorLimitsPolicy(neverRead, neverRead, new ClientRates(new DoorLimitOptions { GreetDelay = TimeSpan.Zero }, time));
        Assert.Equal(PolicyAction.Accept, (await door.ConnectAsync(office)).Action);

        _pg.Resume();
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.True(neverRead.MayRelay(office));
    }

    [FactWhenPostgres]
    public async Task After_postgres_restarts_a_node_holds_its_id_and_its_cluster_locks_again_by_itself()
    {
        var conn = _pg!.CreateDatabase();
        using var a = new PostgresAccountStore(conn);
        using var claim = a.ClaimNode("node-a", "host-a", 1, "test");
        var mailbox = ClusterLockKeys.Of("pop3", "hosted.test/joe");
        Assert.True(a.TryLock(mailbox)); // a POP3 session of node-a holds joe's mailbox
        Assert.Equal(2, AdvisoryLocks(conn)); // the node's id and the mailbox

        _pg.Halt(); // both locks go with their connections
        _pg.Resume();
        // No session of node-a asks for a lock again: its watchdog (a check every 2 s) takes both back.
        var held = 0;
        for (var i = 0; i < 100 && (held = AdvisoryLocks(conn)) < 2; i++)
            await Task.Delay(200);
        Assert.Equal(2, held);
        using var b = new PostgresAccountStore(conn);
        Assert.False(b.TryLock(mailbox)); // another node gets [IN-USE], as before the restart
        Assert.Throws<NodeInUseException>(() => b.ClaimNode("node-a", "host-b", 2, "test"));
    }

    /// <summary>The advisory locks held in the database of <paramref name="conn"/>.</summary>
    private static int AdvisoryLocks(string conn)
    {
        using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(conn) { Pooling = false }.ConnectionString); // none left broken by the restart
        c.Open();
        using var cmd = new NpgsqlCommand("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", c);
        return Convert.ToInt32(cmd.ExecuteScalar());
    }
}
