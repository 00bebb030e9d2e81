// Two `mailward serve` nodes, each with its own data folder (queue) and Node:Id, on one PostgreSQL
// account store and one mail store (docs/multi-node.md), with the real executable: a second live
// process with a node's id refuses to start and a SIGKILLed node's id is free at once; mail taken
// by both for one mailbox arrives once each under distinct names; a user added while a node has
// the address cached as unknown receives mail through it within a second (LISTEN/NOTIFY, the
// polling fallback set to an hour); POP3 on both nodes for one mailbox: the second gets [IN-USE],
// and once the holding node is SIGKILLed the other takes the mailbox at once. What the nodes share
// in the store: failed logins on one throttle the client on the other and a user's messages count
// against one hourly limit through both; a roaming grant made by a POP3 login on one lets the client
// relay through the other; a vacation reply is sent once when one sender mails the user through
// both. IMAP sessions on both nodes (MailKit) see each other's flag changes and new mail, with UIDs
// that no two messages share.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Security;
using Mailward.Core.Accounts.Postgres;
using Mailward.Tests.Support;

namespace Mailward.Tests.Accounts;

public sealed class TwoNodeTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly TempFolder _nodes = new();
    private readonly ServerProcesses _servers = new();
    private readonly string? _conn = PostgresServer.Unavailable is null ? PostgresServer.CreateDatabase() : null;

    public void Dispose()
    {
        _servers.Dispose();
        if (_conn is not null)
            PostgresServer.DropDatabase(_conn);
        _nodes.Dispose();
        _m.Dispose();
    }

    private string[] Store => ["--Accounts:Provider=postgres", $"--Accounts:ConnectionString={_conn}"];

    private ServeNodes Nodes => new(_servers, _nodes.Path, Store, _m.MailStore);

    private Process Launch(string id, int smtp, int pop3) => Nodes.Launch(id, smtp, pop3);

    private Task<ServeNodes.Node> StartAsync(string id, params string[] more) => Nodes.StartAsync(id, more);

    private async Task SetUpAsync()
    {
        (await _m.Run([.. Store, $"--MailStore:Path={_m.MailStore}", "vadddomain", "hosted.test", "pw"])).Ok();
        (await _m.Run([.. Store, $"--MailStore:Path={_m.MailStore}", "vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test"])).Ok(); // DES crypt of "testpw"
    }

    private static async Task<string> SmtpAsync(int port, string rcpt, string subject, string sender = "sender@remote.test")
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var s = tcp.GetStream();
        var r = new ReplyReader(s);
        async Task<string> Send(string line)
        {
            await s.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            string reply;
            do
                reply = await r.ReadLineAsync() ?? "<closed>";
            while (reply.Length > 3 && reply[3] == '-');
            return reply;
        }
        Assert.StartsWith("220", await r.ReadLineAsync());
        Assert.StartsWith("250", await Send("EHLO client.test"));
        Assert.StartsWith("250", await Send($"MAIL FROM:<{sender}>"));
        var answer = await Send($"RCPT TO:<{rcpt}>");
        if (!answer.StartsWith("250", StringComparison.Ordinal))
            return answer;
        Assert.StartsWith("354", await Send("DATA"));
        answer = await Send($"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nbody\r\n.");
        await Send("QUIT");
        return answer;
    }

    private static async Task<string> Pop3Async(int port, string user, string command)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var s = tcp.GetStream();
        var r = new ReplyReader(s);
        async Task<string> Send(string line)
        {
            await s.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            return await r.ReadLineAsync() ?? "<closed>";
        }
        Assert.StartsWith("+OK", await r.ReadLineAsync());
        await Send($"USER {user}");
        var pass = await Send("PASS testpw");
        if (!pass.StartsWith("+OK", StringComparison.Ordinal))
            return pass;
        var answer = await Send(command);
        await Send("QUIT");
        return answer;
    }

    [FactWhenPostgres]
    public async Task A_second_live_process_with_a_node_id_refuses_to_start_and_a_killed_nodes_id_is_free_at_once()
    {
        await SetUpAsync();
        var a = await StartAsync("node-a");

        var twin = Launch("node-a", ServerProcesses.FreePort(), ServerProcesses.FreePort());
        Assert.True(twin.WaitForExit(TimeSpan.FromSeconds(60)), "the second node-a should have refused to start");
        twin.WaitForExit(); // and its last lines are read (the timed wait does not wait for the output)
        Assert.Equal(5, twin.ExitCode);
        Assert.Contains(_servers.Output, l => l.Contains("node id node-a is in use by a live process", StringComparison.Ordinal)
            && l.Contains($"pid {a.Process.Id}", StringComparison.Ordinal));

        var b = await StartAsync("node-b"); // another id starts beside it
        using (var store = new PostgresAccountStore(_conn!))
        {
            var nodes = store.ListNodes();
            Assert.Equal(["node-a", "node-b"], nodes.Select(n => n.Name));
            Assert.Equal(a.Process.Id, nodes[0].Pid);
            Assert.Equal(b.Process.Id, nodes[1].Pid);
        }

        a.Process.Kill(); // SIGKILL: no goodbye; the lock goes with its connection
        await a.Process.WaitForExitAsync();
        var again = await StartAsync("node-a"); // at once, no stale time to wait out
        Assert.False(again.Process.HasExited);
        using (var store = new PostgresAccountStore(_conn!))
            Assert.Equal(again.Process.Id, store.ListNodes()[0].Pid);
    }

    [FactWhenPostgres]
    public async Task Mail_taken_by_both_nodes_for_one_mailbox_arrives_once_each_and_a_new_user_is_seen_by_the_other_node_at_once()
    {
        await SetUpAsync();
        var a = await StartAsync("node-a");
        var b = await StartAsync("node-b");

        const int each = 10;
        var sends = Enumerable.Range(0, each).SelectMany(i => new[] { SmtpAsync(a.Smtp, "joe@hosted.test", $"via a {i}"), SmtpAsync(b.Smtp, "joe@hosted.test", $"via b {i}") });
        Assert.All(await Task.WhenAll(sends), reply => Assert.StartsWith("250", reply));
        var stat = "";
        for (var i = 0; i < 100 && stat != $"+OK {2 * each}"; i++)
        {
            await Task.Delay(100);
            stat = string.Join(' ', (await Pop3Async(b.Pop3, "joe@hosted.test", "STAT")).Split(' ').Take(2));
        }
        Assert.Equal($"+OK {2 * each}", stat); // every message once, through either node
        var files = Directory.GetFiles(Path.Combine(_m.MailStore, "hosted.test", "joe", "Maildir", "new"))
            .Concat(Directory.GetFiles(Path.Combine(_m.MailStore, "hosted.test", "joe", "Maildir", "cur"))).Select(Path.GetFileName).ToList();
        Assert.Equal(2 * each, files.Count);
        Assert.Equal(each, files.Count(f => f!.Contains("Nnode-a", StringComparison.Ordinal))); // each node's names carry its id
        Assert.Equal(each, files.Count(f => f!.Contains("Nnode-b", StringComparison.Ordinal)));

        // Node B learns that ann does not exist (a cached miss, kept for an hour by polling alone) ...
        Assert.StartsWith("550 5.1.1", await SmtpAsync(b.Smtp, "ann@hosted.test", "too early"));
        (await _m.Run([.. Store, $"--MailStore:Path={_m.MailStore}", "vadduser", "-e", "DmIMm9e5Hc8ic", "ann@hosted.test"])).Ok();
        var added = Stopwatch.StartNew();
        var answer = "";
        while (added.Elapsed < TimeSpan.FromSeconds(5) && !answer.StartsWith("250", StringComparison.Ordinal))
            answer = await SmtpAsync(b.Smtp, "ann@hosted.test", "welcome");
        Assert.StartsWith("250", answer);
        // At once, not after the hour a cached miss lasts: 3 s leaves room for a loaded two-core run (one took 1.02 s).
        Assert.True(added.Elapsed < TimeSpan.FromSeconds(3), $"node B took {added.Elapsed} to see the new user");
    }

    [FactWhenPostgres]
    public async Task A_mailbox_open_on_one_node_is_in_use_on_the_other_until_that_node_is_killed_then_free_at_once()
    {
        await SetUpAsync();
        var a = await StartAsync("node-a");
        var b = await StartAsync("node-b");

        using var holder = new TcpClient();
        await holder.ConnectAsync(IPAddress.Loopback, a.Pop3);
        var s = holder.GetStream();
        var r = new ReplyReader(s);
        Assert.StartsWith("+OK", await r.ReadLineAsync());
        await s.WriteAsync("USER joe@hosted.test\r\nPASS testpw\r\n"u8.ToArray());
        await r.ReadLineAsync();
        Assert.StartsWith("+OK", await r.ReadLineAsync()); // node A holds joe's maildrop

        Assert.StartsWith("-ERR [IN-USE]", await Pop3Async(b.Pop3, "joe@hosted.test", "STAT"));
        Assert.StartsWith("-ERR [IN-USE]", await Pop3Async(a.Pop3, "joe@hosted.test", "STAT")); // and on its own node

        a.Process.Kill(); // SIGKILL: the session never gives the lock back; its connection goes
        await a.Process.WaitForExitAsync();
        var killed = Stopwatch.StartNew();
        var answer = "";
        while (killed.Elapsed < TimeSpan.FromSeconds(10) && !answer.StartsWith("+OK", StringComparison.Ordinal))
            answer = await Pop3Async(b.Pop3, "joe@hosted.test", "STAT");
        Assert.StartsWith("+OK", answer);
        Assert.True(killed.Elapsed < TimeSpan.FromSeconds(2), $"node B took the mailbox after {killed.Elapsed}"); // not Pop3:LockStaleSeconds
    }

    /// <summary>A line protocol from a loopback address of the caller's choice: each command's reply (SMTP's multi-line replies joined by newlines).</summary>
    private sealed class Talk : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly NetworkStream _s;
        private readonly ReplyReader _r;

        private Talk(TcpClient tcp)
        {
            _tcp = tcp;
            _s = tcp.GetStream();
            _r = new ReplyReader(_s);
        }

        public static async Task<(Talk Talk, string Greeting)> OpenAsync(int port, string from = "127.0.0.1")
        {
            var tcp = new TcpClient(new IPEndPoint(IPAddress.Parse(from), 0));
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            var t = new Talk(tcp);
            return (t, await t.ReadAsync());
        }

        public async Task<string> SendAsync(string command)
        {
            await _s.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
            return await ReadAsync();
        }

        private async Task<string> ReadAsync()
        {
            var lines = new List<string>();
            while (true)
            {
                var line = await _r.ReadLineAsync() ?? "<closed>";
                lines.Add(line);
                if (line.Length < 4 || line[3] != '-' || !char.IsAsciiDigit(line[0]))
                    return string.Join("\n", lines);
            }
        }

        public void Dispose() => _tcp.Dispose();
    }

    private static async Task<string> Pop3LoginAsync(int port, string from, string user, string password)
    {
        var (t, greeting) = await Talk.OpenAsync(port, from);
        using (t)
        {
            Assert.StartsWith("+OK", greeting);
            await t.SendAsync($"USER {user}");
            var answer = await t.SendAsync($"PASS {password}");
            await t.SendAsync("QUIT");
            return answer;
        }
    }

    private static async Task<string> ImapLoginAsync(int port, string from, string user, string password)
    {
        var (t, greeting) = await Talk.OpenAsync(port, from);
        using (t)
        {
            Assert.StartsWith("* OK", greeting);
            var answer = await t.SendAsync($"a LOGIN {user} {password}");
            await t.SendAsync("b LOGOUT");
            return answer;
        }
    }

    private static string Plain(string user, string password) => Convert.ToBase64String(Encoding.ASCII.GetBytes($"\0{user}\0{password}"));

    /// <summary>Submission with AUTH PLAIN from <paramref name="from"/>: the AUTH answer, or the answer to MAIL when AUTH passed, or the message's.</summary>
    private static async Task<string> SubmitAsync(int port, string from, string user, string rcpt)
    {
        var (t, greeting) = await Talk.OpenAsync(port, from);
        using (t)
        {
            Assert.StartsWith("220", greeting);
            Assert.StartsWith("250", await t.SendAsync("EHLO client.test"));
            var answer = await t.SendAsync("AUTH PLAIN " + Plain(user, "testpw"));
            if (!answer.StartsWith("235", StringComparison.Ordinal))
                return answer;
            answer = await t.SendAsync($"MAIL FROM:<{user}>");
            if (!answer.StartsWith("250", StringComparison.Ordinal))
                return answer;
            Assert.StartsWith("250", await t.SendAsync($"RCPT TO:<{rcpt}>"));
            Assert.StartsWith("354", await t.SendAsync("DATA"));
            answer = await t.SendAsync($"From: {user}\r\nTo: {rcpt}\r\nSubject: counted\r\n\r\nbody\r\n.");
            await t.SendAsync("QUIT");
            return answer;
        }
    }

    [FactWhenPostgres]
    public async Task Failed_logins_on_one_node_throttle_the_client_on_the_other_and_messages_count_against_one_limit_through_both()
    {
        await SetUpAsync();
        (await _m.Run([.. Store, $"--MailStore:Path={_m.MailStore}", "vadduser", "-e", "DmIMm9e5Hc8ic", "ann@hosted.test"])).Ok();
        string[] limits = ["--Pop3:MaxLoginFailuresPerClient=3", "--Submission:MaxMessagesPerHour=3"];
        var a = await StartAsync("node-a", limits);
        var b = await StartAsync("node-b", limits);

        for (var i = 0; i < 3; i++)
            Assert.StartsWith("-ERR [AUTH] invalid", await Pop3LoginAsync(a.Pop3, "127.0.0.5", "joe@hosted.test", "guess" + i));
        // Node B throttles that address too, in every protocol, even with the right password ...
        Assert.StartsWith("-ERR [AUTH] too many failed logins", await Pop3LoginAsync(b.Pop3, "127.0.0.5", "ann@hosted.test", "testpw"));
        Assert.StartsWith("a NO [UNAVAILABLE] too many failed logins", await ImapLoginAsync(b.Imap, "127.0.0.5", "ann@hosted.test", "testpw"));
        Assert.StartsWith("454 4.7.0 Too many failed logins", await SubmitAsync(b.Submission, "127.0.0.5", "ann@hosted.test", "joe@hosted.test"));
        // ... and only that address.
        Assert.StartsWith("a OK", await ImapLoginAsync(b.Imap, "127.0.0.6", "ann@hosted.test", "testpw"));

        // Submission:MaxMessagesPerHour=3 is ann's hour through both nodes, not 3 on each.
        Assert.StartsWith("250", await SubmitAsync(a.Submission, "127.0.0.6", "ann@hosted.test", "joe@hosted.test"));
        Assert.StartsWith("250", await SubmitAsync(b.Submission, "127.0.0.6", "ann@hosted.test", "joe@hosted.test"));
        Assert.StartsWith("250", await SubmitAsync(a.Submission, "127.0.0.6", "ann@hosted.test", "joe@hosted.test"));
        Assert.StartsWith("450 4.7.1 Sending limit", await SubmitAsync(b.Submission, "127.0.0.6", "ann@hosted.test", "joe@hosted.test"));
        Assert.StartsWith("450 4.7.1 Sending limit", await SubmitAsync(a.Submission, "127.0.0.6", "ann@hosted.test", "joe@hosted.test"));
        Assert.StartsWith("250", await SubmitAsync(b.Submission, "127.0.0.6", "joe@hosted.test", "ann@hosted.test")); // joe has his own hour
    }

    [FactWhenPostgres]
    public async Task A_roaming_grant_made_by_a_login_on_one_node_lets_the_client_relay_through_the_other()
    {
        await SetUpAsync();
        var a = await StartAsync("node-a", "--Relay:RoamingMinutes=180");
        var b = await StartAsync("node-b", "--Relay:RoamingMinutes=180");
        async Task<string> RelayAsync(int port)
        {
            var (t, greeting) = await Talk.OpenAsync(port, "127.0.0.9"); // not in the relay rules (loopback's rule is 127.0.0.1/32)
            using (t)
            {
                Assert.StartsWith("220", greeting);
                Assert.StartsWith("250", await t.SendAsync("HELO roamer.test"));
                Assert.StartsWith("250", await t.SendAsync("MAIL FROM:<joe@hosted.test>"));
                var rcpt = await t.SendAsync("RCPT TO:<friend@remote.test>");
                await t.SendAsync("QUIT");
                return rcpt;
            }
        }
        Assert.StartsWith("554 5.7.1", await RelayAsync(b.Smtp)); // no grant yet

        using (var pop = new Pop3Client { LocalEndPoint = new IPEndPoint(IPAddress.Parse("127.0.0.9"), 0), Timeout = 15_000 })
        {
            await pop.ConnectAsync("127.0.0.1", a.Pop3, SecureSocketOptions.None);
            await pop.AuthenticateAsync("joe@hosted.test", "testpw"); // the grant, made on node A
            await pop.DisconnectAsync(true);
        }
        // Node B reads the grants again within 5 seconds (docs/multi-node.md).
        var granted = Stopwatch.StartNew();
        var answer = "";
        while (granted.Elapsed < TimeSpan.FromSeconds(15) && !answer.StartsWith("250", StringComparison.Ordinal))
        {
            answer = await RelayAsync(b.Smtp);
            if (!answer.StartsWith("250", StringComparison.Ordinal))
                await Task.Delay(250);
        }
        Assert.StartsWith("250", answer);
        Assert.True(granted.Elapsed < TimeSpan.FromSeconds(7), $"node B took {granted.Elapsed} to honour node A's grant");
    }

    [FactWhenPostgres]
    public async Task A_vacation_reply_is_sent_once_when_one_sender_mails_the_user_through_both_nodes()
    {
        await SetUpAsync();
        (await _m.Run([.. Store, $"--MailStore:Path={_m.MailStore}", "vadduser", "-e", "DmIMm9e5Hc8ic", "ann@hosted.test"])).Ok();
        (await _m.Run([.. Store, $"--MailStore:Path={_m.MailStore}", "vacation", "set", "joe@hosted.test", "--text", "Away until Monday."])).Ok();
        var a = await StartAsync("node-a");
        var b = await StartAsync("node-b");

        const int each = 3;
        var sends = Enumerable.Range(0, each).SelectMany(i => new[]
        {
            SmtpAsync(a.Smtp, "joe@hosted.test", $"via a {i}", "ann@hosted.test"), SmtpAsync(b.Smtp, "joe@hosted.test", $"via b {i}", "ann@hosted.test"),
        });
        Assert.All(await Task.WhenAll(sends), reply => Assert.StartsWith("250", reply));
        string[] Mail(string user) => new[] { "new", "cur" }.Select(d => Path.Combine(_m.MailStore, "hosted.test", user, "Maildir", d))
            .Where(Directory.Exists).SelectMany(Directory.GetFiles).ToArray();
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(30) && (Mail("joe").Length < 2 * each || Mail("ann").Length == 0))
            await Task.Delay(100);
        Assert.Equal(2 * each, Mail("joe").Length); // every message delivered, by both nodes
        await Task.Delay(3000); // time for a second reply, were one queued
        var replies = Mail("ann");
        Assert.Single(replies);
        Assert.Contains("Auto-Submitted: auto-replied", File.ReadAllText(replies[0]), StringComparison.Ordinal);
    }

    [FactWhenPostgres]
    public async Task Imap_sessions_on_both_nodes_see_each_others_flag_changes_and_new_mail_with_unique_uids()
    {
        await SetUpAsync();
        var a = await StartAsync("node-a");
        var b = await StartAsync("node-b");
        Assert.StartsWith("250", await SmtpAsync(a.Smtp, "joe@hosted.test", "first"));

        async Task<ImapClient> OpenAsync(ServeNodes.Node node)
        {
            var c = new ImapClient { Timeout = 15_000 };
            await c.ConnectAsync("127.0.0.1", node.Imap, SecureSocketOptions.None);
            await c.AuthenticateAsync("joe@hosted.test", "testpw");
            await c.Inbox.OpenAsync(FolderAccess.ReadWrite);
            return c;
        }
        // Until the condition holds on the session (NOOP: RFC 9051 §6.1.2, the server reports what changed).
        static async Task<bool> SeesAsync(ImapClient c, Func<Task<bool>> condition)
        {
            var waited = Stopwatch.StartNew();
            while (waited.Elapsed < TimeSpan.FromSeconds(10))
            {
                await c.NoOpAsync();
                if (await condition())
                    return true;
                await Task.Delay(100);
            }
            return false;
        }
        async Task<List<UniqueId>> UidsAsync(ImapClient c) =>
            [.. (await c.Inbox.FetchAsync(0, -1, MessageSummaryItems.UniqueId)).Select(m => m.UniqueId).Order()];

        var waitedForFirst = Stopwatch.StartNew();
        using var onA = await OpenAsync(a);
        while (onA.Inbox.Count == 0 && waitedForFirst.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(100);
            await onA.NoOpAsync();
        }
        Assert.Equal(1, onA.Inbox.Count);
        using var onB = await OpenAsync(b);
        Assert.Equal(1, onB.Inbox.Count);
        var first = (await UidsAsync(onA)).Single();
        Assert.Equal([first], await UidsAsync(onB));

        // A flag set on node A is seen by node B's session, and one set on B by A's.
        await onA.Inbox.AddFlagsAsync(first, MessageFlags.Flagged, true);
        async Task<MessageFlags> FlagsAsync(ImapClient c) => (await c.Inbox.FetchAsync([first], MessageSummaryItems.Flags)).Single().Flags ?? MessageFlags.None;
        Assert.True(await SeesAsync(onB, async () => (await FlagsAsync(onB)).HasFlag(MessageFlags.Flagged)), "node B never saw node A's \\Flagged");
        await onB.Inbox.AddFlagsAsync(first, MessageFlags.Answered, true);
        Assert.True(await SeesAsync(onA, async () => (await FlagsAsync(onA)).HasFlag(MessageFlags.Answered)), "node A never saw node B's \\Answered");

        // New mail through node B, and an APPEND on each node at once: both sessions see all of it, under the same UIDs, none shared.
        Assert.StartsWith("250", await SmtpAsync(b.Smtp, "joe@hosted.test", "second"));
        MimeKit.MimeMessage Note(string text) => new(new[] { MimeKit.InternetAddress.Parse("joe@hosted.test") }, new[] { MimeKit.InternetAddress.Parse("joe@hosted.test") },
            text, new MimeKit.TextPart("plain") { Text = text });
        await Task.WhenAll(onA.Inbox.AppendAsync(Note("appended on a")), onB.Inbox.AppendAsync(Note("appended on b")));
        Assert.True(await SeesAsync(onA, () => Task.FromResult(onA.Inbox.Count == 4)), $"node A's session has {onA.Inbox.Count} messages, not 4");
        Assert.True(await SeesAsync(onB, () => Task.FromResult(onB.Inbox.Count == 4)), $"node B's session has {onB.Inbox.Count} messages, not 4");
        var uids = await UidsAsync(onA);
        Assert.Equal(4, uids.Distinct().Count());
        Assert.Equal(uids, await UidsAsync(onB));
        Assert.Equal(first, uids[0]);
    }
}
