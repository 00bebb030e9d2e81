// Two `mailward serve` nodes, each with its own data folder (queue) and Node:Id, on one PostgreSQL
// account store and one mail store (docs/multi-node.md), with the real executable: a second live
// process with a node's id refuses to start and a SIGKILLed node's id is free at once; mail taken
// by both for one mailbox arrives once each under distinct names; a user added while a node has
// the address cached as unknown receives mail through it within a second (LISTEN/NOTIFY, the
// polling fallback set to an hour); POP3 on both nodes for one mailbox: the second gets [IN-USE],
// and once the holding node is SIGKILLed the other takes the mailbox at once.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
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

    /// <summary>A node: its own data folder, the shared mail store and account store.</summary>
    private sealed record Node(Process Process, int Smtp, int Pop3);

    private Process Launch(string id, int smtp, int pop3) =>
        _servers.Start(Directory.CreateDirectory(_nodes.Combine(id)).FullName, smtp, [.. Store, $"--MailStore:Path={_m.MailStore}", $"--Node:Id={id}", $"--Pop3:Port={pop3}", "--Log:Level=Warning",
            "--Pop3:FailedLoginDelayMilliseconds=0", "--Accounts:CacheCheckMilliseconds=3600000", .. MailwardRunner.FastHashes]);

    private async Task<Node> StartAsync(string id)
    {
        var (smtp, pop3) = (ServerProcesses.FreePort(), ServerProcesses.FreePort());
        var p = Launch(id, smtp, pop3);
        await ServerProcesses.WaitListeningAsync(smtp);
        await ServerProcesses.WaitListeningAsync(pop3);
        return new Node(p, smtp, pop3);
    }

    private async Task SetUpAsync()
    {
        (await _m.Run([.. Store, $"--MailStore:Path={_m.MailStore}", "vadddomain", "hosted.test", "pw"])).Ok();
        (await _m.Run([.. Store, $"--MailStore:Path={_m.MailStore}", "vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test"])).Ok(); // DES crypt of "testpw"
    }

    private static async Task<string> SmtpAsync(int port, string rcpt, string subject)
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
        Assert.StartsWith("250", await Send("MAIL FROM:<sender@remote.test>"));
        var answer = await Send($"RCPT TO:<{rcpt}>");
        if (!answer.StartsWith("250", StringComparison.Ordinal))
            return answer;
        Assert.StartsWith("354", await Send("DATA"));
        answer = await Send($"From: sender@remote.test\r\nTo: {rcpt}\r\nSubject: {subject}\r\n\r\nbody\r\n.");
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
        Assert.True(added.Elapsed < TimeSpan.FromSeconds(1), $"node B took {added.Elapsed} to see the new user");
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
}
