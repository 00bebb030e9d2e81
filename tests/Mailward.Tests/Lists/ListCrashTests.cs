// A list post and crashes (docs/lists.md, "A crash: every subscriber once"), with real processes:
// SIGKILL in the middle of a fan-out to 1,000 local and 1,000 remote subscribers, after which every
// subscriber has the post once (remote ones at most once more when their delivery was in flight);
// and the hook's own crash states made by hand: a fan-out begun whose copies never committed is
// queued once on restart, one already queued is not queued again.
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Configuration;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Mailward.Core.Queue;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Lists;

public sealed class ListCrashTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    /// <summary>Waits up to two minutes: a start-up with 1,000 users' folders on a loaded machine takes longer than the usual ten seconds.</summary>
    private async Task Listening(int port)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await ServerProcesses.WaitListeningAsync(port);
                return;
            }
            catch (TimeoutException e) when (attempt >= 10)
            {
                throw new TimeoutException(e.Message + ": " + string.Join("\n", _servers.Output), e);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    /// <summary>Users u1..uN at hosted.test, made in this process (a command per user would take minutes).</summary>
    private void MakeUsers(int n)
    {
        var data = DataFolder.Open(_m.Data, [.. MailwardRunner.FastHashes]);
        using var store = new SqliteAccountStore(data.Settings.AccountsConnectionString);
        var admin = new AccountAdmin(store, new MailStoreLayout(data.Settings.MailStorePath), new PasswordHasher(data.Settings.Passwords));
        SmtpFixture.Apply(admin, store, ["domain hosted.test", .. Enumerable.Range(1, n).Select(i => $"user u{i}@hosted.test")]);
    }

    private static async Task PostAsync(int port, string subject)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
        var s = tcp.GetStream();
        var r = new ReplyReader(s);
        await r.ReadLineAsync();
        await s.WriteAsync(Encoding.ASCII.GetBytes("HELO remote.test\r\nMAIL FROM:<friend@remote.test>\r\nRCPT TO:<team@hosted.test>\r\nDATA\r\n"));
        for (var k = 0; k < 4; k++)
            await r.ReadLineAsync();
        await s.WriteAsync(Encoding.ASCII.GetBytes($"From: friend@remote.test\r\nTo: team@hosted.test\r\nSubject: {subject}\r\nMessage-ID: <{subject}@remote.test>\r\n\r\nhello\r\n.\r\n"));
        Assert.StartsWith("250 ", await r.ReadLineAsync());
        await s.WriteAsync("QUIT\r\n"u8.ToArray());
    }

    private string Maildir(string address) => MailStoreLayout.MaildirOf(_m.UserFolder(address));

    private int Copies(string address) =>
        Directory.Exists(Path.Combine(Maildir(address), "new")) ? Directory.GetFiles(Path.Combine(Maildir(address), "new")).Length : 0;

    private string ListFolder => Path.Combine(_m.MailStore, "hosted.test", ".lists", "team");

    [Fact]
    public async Task A_kill_in_the_middle_of_a_fan_out_to_2000_subscribers_sends_each_the_post_once()
    {
        const int local = 1000, remote = 1000;
        MakeUsers(local);
        (await _m.Run("list", "add", "team@hosted.test")).Ok();
        (await _m.Run(["list", "subscribe", "team@hosted.test",
            .. Enumerable.Range(1, local).Select(i => $"u{i}@hosted.test"), .. Enumerable.Range(1, remote).Select(i => $"r{i}@remote.test")])).Ok();
        await using var sink = new TestMta();
        var port = ServerProcesses.FreePort();
        string[] settings = ["--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}", "--Log:Level=Warning"];
        using (var server = _servers.Start(_m.Data, port, settings))
        {
            await Listening(port);
            await PostAsync(port, "crash");
            // Recipients go in sorted order (u1, u10, u100, u1000, u101, ... u5 is about the 550th): kill once u5 has it.
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (Copies("u5@hosted.test") == 0 && DateTime.UtcNow < deadline)
                await Task.Delay(5);
            server.Kill();
            await server.WaitForExitAsync();
        }
        var before = Enumerable.Range(1, local).Count(i => Copies($"u{i}@hosted.test") > 0);
        Assert.InRange(before, 1, local - 1); // killed in the middle of the local fan-out

        using (var server = _servers.Start(_m.Data, port, settings))
        {
            await Listening(port);
            var deadline = DateTime.UtcNow.AddSeconds(240);
            while (sink.Received.Select(m => m.Recipients[0]).Distinct().Count() < remote && DateTime.UtcNow < deadline)
                await Task.Delay(100);
            await Task.Delay(1000); // room for a second fan-out, were there one
            server.Kill();
            await server.WaitForExitAsync();
        }
        // Local: exactly once each (a repeat finds its Maildir file by name).
        Assert.All(Enumerable.Range(1, local), i => Assert.Equal(1, Copies($"u{i}@hosted.test")));
        // Remote: every one, each from its own VERP sender; none before the kill (local copies go first), so none twice.
        var byRecipient = sink.Received.GroupBy(m => m.Recipients.Single()).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(remote, byRecipient.Count);
        Assert.All(byRecipient, kv =>
        {
            Assert.Single(kv.Value);
            Assert.Equal($"team-return-1-{kv.Key.Replace('@', '=')}@hosted.test", kv.Value[0].Sender);
        });
        // One post, one number, one fan-out.
        Assert.Single(Directory.GetFiles(Path.Combine(ListFolder, "fanout")));
        Assert.Contains("last: 1\n", File.ReadAllText(Path.Combine(ListFolder, "num")));
    }

    /// <summary>The post queued and not delivered (delivery off), the server stopped; the post's queue id.</summary>
    private async Task<(string QueueId, int Port)> QueuedPostAsync(TestMta sink)
    {
        MakeUsers(3);
        (await _m.Run("list", "add", "team@hosted.test")).Ok();
        (await _m.Run("list", "subscribe", "team@hosted.test", "u1@hosted.test", "u2@hosted.test", "u3@hosted.test", "r1@remote.test")).Ok();
        var port = ServerProcesses.FreePort();
        using (var server = _servers.Start(_m.Data, port, "--Delivery:Enabled=false"))
        {
            await Listening(port);
            await PostAsync(port, "state");
            server.Kill();
            await server.WaitForExitAsync();
        }
        var settings = DataFolder.Open(_m.Data, ["--Hostname=mail.test"]).Settings;
        await using var queue = QueueStore.Open(settings.QueuePath);
        return (Assert.Single(queue.Messages).QueueId, port);
    }

    private static void WriteFramed(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var body = Encoding.UTF8.GetBytes(text);
        File.WriteAllBytes(path, [.. body, .. Encoding.ASCII.GetBytes($"END {System.IO.Hashing.Crc32.HashToUInt32(body):x8}\n")]);
    }

    /// <summary>What the killed attempt left: archive/0/1, fanout/1 with STATE and QUEUE, num 1.</summary>
    private void LeaveState(string postId, string state, string copiesId)
    {
        var original = "From: friend@remote.test\r\nSubject: state\r\n\r\nhello\r\n";
        WriteFramed(Path.Combine(ListFolder, "archive", "0", "1"),
            $"mailward-list-post 1\nnumber: 1\nsource: {postId}.0\nsender: friend@remote.test\nreceived: 0\nlength: {original.Length}\n\n{original}");
        WriteFramed(Path.Combine(ListFolder, "fanout", "1"), $"mailward-list-fanout 1\nsource: {postId}.0\nqueue: {copiesId}\nstate: {state}\n");
        WriteFramed(Path.Combine(ListFolder, "num"), "mailward-list-num 1\nlast: 1\n");
    }

    private async Task RestartAndSettleAsync(TestMta sink, int port, int remoteExpected)
    {
        using var server = _servers.Start(_m.Data, port, "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}");
        await Listening(port);
        if (remoteExpected > 0)
            await sink.WaitForAsync(remoteExpected);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var settings = DataFolder.Open(_m.Data, ["--Hostname=mail.test"]).Settings;
        while (QueueStore.ReadSnapshot(settings.QueuePath).Messages.Count > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        await Task.Delay(1000);
        server.Kill();
        await server.WaitForExitAsync();
    }

    [Fact]
    public async Task A_fan_out_begun_whose_copies_never_committed_is_queued_once_with_its_number()
    {
        await using var sink = new TestMta();
        var (postId, port) = await QueuedPostAsync(sink);
        LeaveState(postId, "begun", "0000000000000001"); // a queue id no queue holds
        await RestartAndSettleAsync(sink, port, 1);
        Assert.All(new[] { "u1", "u2", "u3" }, u => Assert.Equal(1, Copies($"{u}@hosted.test")));
        Assert.Contains("X-Mailward-List-Number: 1\n", File.ReadAllText(Directory.GetFiles(Path.Combine(Maildir("u1@hosted.test"), "new")).Single()));
        Assert.Equal("team-return-1-r1=remote.test@hosted.test", Assert.Single(sink.Received).Sender);
        Assert.Contains("last: 1\n", File.ReadAllText(Path.Combine(ListFolder, "num")));
        Assert.Contains("state: queued\n", File.ReadAllText(Path.Combine(ListFolder, "fanout", "1")));
    }

    [Fact]
    public async Task A_fan_out_already_queued_is_not_queued_again()
    {
        await using var sink = new TestMta();
        var (postId, port) = await QueuedPostAsync(sink);
        LeaveState(postId, "queued", "0000000000000001");
        await RestartAndSettleAsync(sink, port, 0);
        Assert.All(new[] { "u1", "u2", "u3" }, u => Assert.Equal(0, Copies($"{u}@hosted.test")));
        Assert.Empty(sink.Received);
        Assert.Contains("last: 1\n", File.ReadAllText(Path.Combine(ListFolder, "num")));
    }
}
