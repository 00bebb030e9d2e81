// Greylisting over real sockets with a clock the test moves (postgrey's rules): a stranger's first
// try is deferred with 450 4.7.1, a retry before the delay is deferred again with the time left, a
// retry after it is accepted and queued; the client's /24 is one client; relay clients are never
// greylisted; a network that passed five times (an hour apart) is allowed; unused rows expire and
// the cleanup removes them in bounded steps; two stores on one database share the state (nodes), on
// SQLite and on PostgreSQL.
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Postgres;
using Mailward.Core.Greylist;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Mailward.Tests.Greylist;

public sealed class GreylistTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);

    private static Task<ServerFixture> Server(ManualTimeProvider clock, params string[] settings) =>
        ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test"], clock, ["--Greylist:Enabled=true", "--Smtp:GreetDelayMilliseconds=0", .. settings]);

    private static async Task<string> Rcpt(ServerFixture server, string client, string sender = "a@remote.test", string to = "joe@hosted.test", bool send = false)
    {
        await using var talk = await SmtpTalk.OpenAsync(server, client);
        Assert.StartsWith("250", await talk.SendAsync($"MAIL FROM:<{sender}>"));
        var reply = await talk.SendAsync($"RCPT TO:<{to}>");
        if (send && reply.StartsWith("250", StringComparison.Ordinal))
            Assert.StartsWith("250", await talk.DataAsync("Subject: hi\r\n\r\nhello\r\n"));
        return reply;
    }

    [Fact]
    public async Task A_first_try_is_deferred_and_a_retry_after_the_delay_is_accepted()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await Server(clock);
        Assert.Equal("450 4.7.1 <joe@hosted.test>: Recipient address rejected: greylisted for 300 seconds; mail from a new sender is accepted when it is retried",
            await Rcpt(server, "127.0.0.9"));
        clock.Advance(TimeSpan.FromSeconds(299));
        Assert.StartsWith("450 4.7.1 <joe@hosted.test>: Recipient address rejected: greylisted for 1 seconds", await Rcpt(server, "127.0.0.9"));
        Assert.Empty(server.Messages);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("250 2.1.5 Ok", await Rcpt(server, "127.0.0.9", send: true));
        Assert.Equal(["joe@hosted.test"], Assert.Single(server.Messages).Envelope.Recipients);
        // Known now, also from another address of the /24 (a sender's pool of servers).
        Assert.Equal("250 2.1.5 Ok", await Rcpt(server, "127.0.0.10"));
        // Another sender or another recipient is a new triplet.
        Assert.StartsWith("450 4.7.1", await Rcpt(server, "127.0.0.9", sender: "b@remote.test"));
        Assert.StartsWith("450 4.7.1", await Rcpt(server, "127.0.0.9", to: "ann@hosted.test"));
        // Unknown users are refused as before, not greylisted.
        Assert.StartsWith("550 5.1.1", await Rcpt(server, "127.0.0.9", to: "nobody@hosted.test"));
        // A relay client is never greylisted.
        Assert.Equal("250 2.1.5 Ok", await Rcpt(server, "127.0.0.1", sender: "c@remote.test"));
        Assert.Contains(server.Log, l => l.Contains("greylist client=127.0.0.0/24 from=<a@remote.test> to=<joe@hosted.test> result=first wait=300s", StringComparison.Ordinal));
        Assert.Contains(server.Log, l => l.Contains("greylist client=127.0.0.0/24 from=<a@remote.test> to=<joe@hosted.test> result=retried", StringComparison.Ordinal));
        Assert.Contains(server.Log, l => l.Contains("rcpt rejected to=<joe@hosted.test> reason=greylisted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_retry_after_the_retry_window_starts_again_and_unused_triplets_expire()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await Server(clock);
        Assert.StartsWith("450", await Rcpt(server, "127.0.0.9"));
        clock.Advance(TimeSpan.FromHours(49)); // past Greylist:RetryWindowHours
        Assert.StartsWith("450 4.7.1 <joe@hosted.test>: Recipient address rejected: greylisted for 300 seconds", await Rcpt(server, "127.0.0.9"));
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.StartsWith("250", await Rcpt(server, "127.0.0.9"));
        clock.Advance(TimeSpan.FromDays(34));
        Assert.StartsWith("250", await Rcpt(server, "127.0.0.9")); // used within Greylist:ExpiryDays
        clock.Advance(TimeSpan.FromDays(36));
        Assert.StartsWith("450", await Rcpt(server, "127.0.0.9")); // forgotten
    }

    [Fact]
    public async Task A_network_that_passed_five_times_an_hour_apart_is_no_longer_greylisted()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await Server(clock);
        for (var i = 0; i < 5; i++)
        {
            var sender = $"s{i}@remote.test";
            Assert.StartsWith("450", await Rcpt(server, "127.0.0.9", sender));
            clock.Advance(TimeSpan.FromMinutes(5));
            Assert.StartsWith("250", await Rcpt(server, "127.0.0.9", sender));
            Assert.StartsWith("250", await Rcpt(server, "127.0.0.9", sender)); // the same hour: counted once
            if (i < 4)
                Assert.StartsWith("450", await Rcpt(server, "127.0.0.9", "new" + sender)); // not allowed yet
            clock.Advance(TimeSpan.FromHours(1));
        }
        Assert.Equal("250 2.1.5 Ok", await Rcpt(server, "127.0.0.9", "brand-new@elsewhere.test"));
        Assert.Contains(server.Log, l => l.Contains("from=<brand-new@elsewhere.test> to=<joe@hosted.test> result=allowed", StringComparison.Ordinal));
    }

    [Fact]
    public void Nodes_that_share_a_store_share_the_state_and_the_cleanup_is_bounded()
    {
        using var tmp = new TempFolder();
        var db = $"Data Source={tmp.Combine("accounts.db")}";
        using var node1 = new SqliteAccountStore(db);
        using var node2 = new SqliteAccountStore(db);
        NodesShareTheState(node1, node2, table => Rows(tmp, table));
    }

    [FactWhenPostgres]
    public void Nodes_that_share_a_PostgreSQL_store_share_the_state_and_the_cleanup_is_bounded()
    {
        var db = PostgresServer.CreateDatabase();
        try
        {
            using var node1 = new PostgresAccountStore(db);
            using var node2 = new PostgresAccountStore(db);
            NodesShareTheState(node1, node2, table =>
            {
                using var c = new NpgsqlConnection(db);
                c.Open();
                using var cmd = new NpgsqlCommand($"SELECT COUNT(*) FROM {table}", c);
                return (long)cmd.ExecuteScalar()!;
            });
        }
        finally
        {
            PostgresServer.DropDatabase(db);
        }
    }

    private static void NodesShareTheState(IGreylistStore node1, IGreylistStore node2, Func<string, long> rows)
    {
        var o = new GreylistOptions { Enabled = true, CleanupRows = 10 };
        var t = new GreylistTriplet("192.0.2.0/24", "a@remote.test", "joe@hosted.test");
        Assert.Equal("first", node1.CheckGreylist(t, Start, o).Why);
        Assert.Equal(new GreylistAnswer(false, TimeSpan.FromSeconds(240), "early"), node2.CheckGreylist(t, Start.AddMinutes(1), o));
        Assert.Equal("retried", node2.CheckGreylist(t, Start.AddMinutes(5), o).Why);
        Assert.Equal("known", node1.CheckGreylist(t, Start.AddMinutes(6), o).Why);

        for (var i = 0; i < 25; i++)
            node1.CheckGreylist(t with { Sender = $"x{i}@remote.test" }, Start, o); // first tries never retried
        Assert.Equal(26, rows("greylist_triplets"));
        Assert.Equal(0, node1.CleanGreylist(Start.AddHours(47), o)); // inside the retry window
        Assert.Equal(10, node1.CleanGreylist(Start.AddHours(49), o)); // bounded by CleanupRows
        Assert.Equal(10, node2.CleanGreylist(Start.AddHours(49), o));
        Assert.Equal(5, node1.CleanGreylist(Start.AddHours(49), o));
        Assert.Equal(1, rows("greylist_triplets")); // the passed one stays until its expiry
        Assert.Equal(2, node1.CleanGreylist(Start.AddDays(36), o)); // it and its network
        Assert.Equal(0, rows("greylist_triplets") + rows("greylist_clients"));
    }

    private static long Rows(TempFolder tmp, string table)
    {
        using var c = new SqliteConnection($"Data Source={tmp.Combine("accounts.db")}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)cmd.ExecuteScalar()!;
    }
}
