// Issue 14's fault test: two `mailward serve` nodes on one PostgreSQL (a private cluster) and one mail
// store take mail from several SMTP clients at once while PostgreSQL is stopped (pg_ctl -m fast) and
// started again. Every message answered 250 is delivered exactly once; no DSN is made; every refusal
// is temporary (4xx); POP3 and IMAP logins get their temporary errors during the outage; both nodes
// accept and deliver normally again by themselves once PostgreSQL is back.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Mailward.Tests.Support;
using Xunit.Abstractions;

namespace Mailward.Tests.Accounts;

public sealed partial class ClusterFaultTests(ITestOutputHelper output) : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly TempFolder _nodes = new();
    private readonly ServerProcesses _servers = new();
    private readonly PostgresServer.Cluster? _pg = PostgresServer.Unavailable is null ? PostgresServer.StartPrivate() : null;

    public void Dispose()
    {
        _servers.Dispose();
        _pg?.Dispose();
        _nodes.Dispose();
        _m.Dispose();
    }

    private const string Sender = "bounces@hosted.test"; // a local mailbox: a DSN made for any message would land here
    private static readonly string[] Users = ["u0", "u1", "u2", "u3"];

    /// <summary>One SMTP transaction: the final reply of the first command not answered as expected, or DATA's reply.</summary>
    private static async Task<string> SendAsync(int port, string rcpt, string id)
    {
        try
        {
            var (s, greeting) = await LineClient.OpenAsync(port);
            using (s)
            {
                if (!greeting.StartsWith("220", StringComparison.Ordinal))
                    return greeting;
                foreach (var (command, expect) in new[] { ("EHLO client.test", "250"), ($"MAIL FROM:<{Sender}>", "250"), ($"RCPT TO:<{rcpt}>", "250"), ("DATA", "354") })
                {
                    var reply = await s.SendAsync(command);
                    if (!reply.StartsWith(expect, StringComparison.Ordinal))
                        return reply.Split('\n')[^1];
                }
                var answer = await s.SendAsync($"From: {Sender}\r\nTo: {rcpt}\r\nSubject: load {id}\r\n\r\nbody\r\n.");
                await s.SendAsync("QUIT");
                return answer;
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return "<connection: " + e.Message + ">";
        }
    }

    private static async Task<string> LoginAsync(int port, params string[] commands)
    {
        var (c, _) = await LineClient.OpenAsync(port);
        using (c)
        {
            var answer = "";
            foreach (var command in commands)
                answer = await c.SendAsync(command);
            return answer;
        }
    }

    /// <summary>The ids of the load messages in a mailbox, once per file holding one.</summary>
    private List<string> Delivered(string user)
    {
        var maildir = Path.Combine(_m.MailStore, "hosted.test", user, "Maildir");
        return [.. new[] { "new", "cur" }.Select(f => Path.Combine(maildir, f)).Where(Directory.Exists).SelectMany(Directory.GetFiles)
            .Select(f => LoadSubject().Match(File.ReadAllText(f))).Where(m => m.Success).Select(m => m.Groups[1].Value)];
    }

    [GeneratedRegex(@"^Subject: load (\S+)\r?$", RegexOptions.Multiline)]
    private static partial Regex LoadSubject();

    private sealed record Attempt(string Id, string User, int Phase, string Reply);

    [FactWhenPostgres]
    public async Task Postgres_stopped_and_started_while_both_nodes_take_mail_under_load_loses_bounces_and_refuses_nothing_for_good()
    {
        var conn = _pg!.CreateDatabase();
        string[] store = ["--Accounts:Provider=postgres", $"--Accounts:ConnectionString={conn}"];
        (await _m.Run([.. store, $"--MailStore:Path={_m.MailStore}", "vadddomain", "hosted.test", "pw"])).Ok();
        foreach (var user in (string[])[.. Users, "late", "bounces"])
            (await _m.Run([.. store, $"--MailStore:Path={_m.MailStore}", "vadduser", "-e", "DmIMm9e5Hc8ic", user + "@hosted.test"])).Ok(); // DES crypt of "testpw"
        var nodes = new ServeNodes(_servers, _nodes.Path, store, _m.MailStore);
        // Deferred local deliveries are retried every second (not the default 30 s), to keep the test short.
        var a = await nodes.StartAsync("node-a", "--Accounts:UnavailableRetrySeconds=1");
        var b = await nodes.StartAsync("node-b", "--Accounts:UnavailableRetrySeconds=1");
        var smtp = new[] { a.Smtp, b.Smtp };

        // Phase 0: PostgreSQL up; 1: from the stop until both nodes take a user they never looked up; 2: after.
        var phase = 0;
        var attempts = new ConcurrentQueue<Attempt>();
        var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        // Six clients, three per node, each sending one message per connection to the users in turn,
        // at most one per 20 ms: a steady load through all three phases however fast the machine (an
        // unpaced 400 each were all sent before the outage ended on 2026-12-01's machine, leaving
        // phase 2 without any). Bounded by count and time.
        var clients = Enumerable.Range(0, 6).Select(k => Task.Run(async () =>
        {
            for (var n = 0; n < 1000 && !stop.IsCancellationRequested && clock.Elapsed < TimeSpan.FromSeconds(45); n++)
            {
                var pace = Task.Delay(20);
                var (id, user, started) = ($"{k}-{n}", Users[(k + n) % Users.Length], Volatile.Read(ref phase));
                var reply = await SendAsync(smtp[k % 2], user + "@hosted.test", id);
                var ended = Volatile.Read(ref phase);
                attempts.Enqueue(new Attempt(id, user, started == ended ? started : 1, reply)); // one that spans a change of phase counts as in the outage
                if (!reply.StartsWith("250", StringComparison.Ordinal))
                    await Task.Delay(50); // refused: try again shortly, as a client would (much later)
                await pace;
            }
        })).ToArray();

        await Task.Delay(2000);
        Assert.NotEmpty(attempts); // load before the outage, so both nodes' caches know the users
        Volatile.Write(ref phase, 1);
        await Task.Run(_pg.Halt);
        var halted = Stopwatch.StartNew();
        await Task.Delay(1500); // past the caches' check: each has tried the store and kept its answers

        // During the outage: a user no node has looked up is deferred, never refused; logins fail temporarily.
        foreach (var node in new[] { a, b })
        {
            Assert.StartsWith("451 4.3.0", await SendAsync(node.Smtp, "late@hosted.test", "probe"));
            Assert.StartsWith("-ERR [SYS/TEMP]", await LoginAsync(node.Pop3, "USER u0@hosted.test", "PASS testpw"));
            Assert.StartsWith("a NO [UNAVAILABLE]", await LoginAsync(node.Imap, "a LOGIN u0@hosted.test testpw"));
        }
        if (halted.Elapsed < TimeSpan.FromSeconds(4))
            await Task.Delay(TimeSpan.FromSeconds(4) - halted.Elapsed);
        await Task.Run(_pg.Resume);

        // After: both nodes take the never-looked-up user by themselves (no restart), within a bounded wait.
        var back = Stopwatch.StartNew();
        foreach (var node in new[] { a, b })
        {
            var reply = "";
            while (back.Elapsed < TimeSpan.FromSeconds(20) && !reply.StartsWith("250", StringComparison.Ordinal))
            {
                reply = await SendAsync(node.Smtp, "late@hosted.test", "after-" + node.Smtp);
                if (!reply.StartsWith("250", StringComparison.Ordinal))
                    await Task.Delay(200);
            }
            Assert.True(reply.StartsWith("250", StringComparison.Ordinal), $"node on port {node.Smtp} still answers {reply} {back.Elapsed} after PostgreSQL returned");
        }
        Volatile.Write(ref phase, 2);
        await Task.Delay(2000); // load on a store that is back
        await stop.CancelAsync();
        await Task.WhenAll(clients);

        var all = attempts.ToList();
        foreach (var p in all.GroupBy(x => x.Phase).OrderBy(g => g.Key))
            output.WriteLine($"phase {p.Key}: {p.Count()} sent, {p.Count(x => x.Reply.StartsWith("250", StringComparison.Ordinal))} taken, refusals: {string.Join("; ", p.Select(x => x.Reply).Where(r => !r.StartsWith("250", StringComparison.Ordinal)).Distinct())}");
        Assert.Contains(all, x => x.Phase == 1 && x.Reply.StartsWith("250", StringComparison.Ordinal)); // cached users are still taken in the outage
        Assert.All(all.Where(x => x.Phase != 1), x => Assert.StartsWith("250", x.Reply)); // before and after: normal service
        Assert.All(all.Where(x => !x.Reply.StartsWith("250", StringComparison.Ordinal)), x => Assert.Matches("^4[0-9][0-9] ", x.Reply)); // every refusal temporary
        Assert.Contains(all, x => x.Phase == 2);

        // Every 250 delivered once, into its mailbox, through whichever node took it; nothing else.
        var accepted = all.Where(x => x.Reply.StartsWith("250", StringComparison.Ordinal)).ToList();
        var waited = Stopwatch.StartNew();
        Dictionary<string, List<string>> delivered;
        do
        {
            await Task.Delay(200);
            delivered = Users.ToDictionary(u => u, Delivered);
        }
        while (delivered.Values.Sum(d => d.Count) < accepted.Count && waited.Elapsed < TimeSpan.FromSeconds(30));
        foreach (var user in Users)
        {
            var ids = delivered[user];
            Assert.Equal(ids.Count, ids.Distinct().Count()); // none twice
            Assert.Equal(accepted.Where(x => x.User == user).Select(x => x.Id).Order(), ids.Order()); // none lost, none that was not accepted
        }
        Assert.Equal(2, Delivered("late").Count); // one 250 through each node after the outage; the probes answered 451 were not taken
        await Task.Delay(1500); // a DSN, had one been made, would have had time to arrive
        var dsns = Path.Combine(_m.MailStore, "hosted.test", "bounces", "Maildir");
        Assert.Empty(new[] { "new", "cur" }.Select(f => Path.Combine(dsns, f)).Where(Directory.Exists).SelectMany(Directory.GetFiles));
        Assert.DoesNotContain(_servers.Output, l => l.Contains("Unhandled", StringComparison.Ordinal));
    }
}
