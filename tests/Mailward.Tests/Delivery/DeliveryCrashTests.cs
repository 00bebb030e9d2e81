// Kill -9 during delivery, restart: every recipient is delivered, and a local recipient gets each
// message exactly once: a repeated attempt finds its own earlier Maildir file (named from the
// queue id and the recipient) and counts it done, where Postfix and qmail would deliver again.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Xunit.Abstractions;

namespace Mailward.Tests.Delivery;

public sealed class DeliveryCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly MailwardRunner _m = new();

    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    private Process Start(int port, bool deliver, params string[] extra) =>
        _servers.Start(_m.Data, port, ["--Log:Level=Warning", $"--Delivery:Enabled={deliver}", .. extra]);

    private string Maildir(string local) => Path.Combine(_m.MailStore, "hosted.test", local, "Maildir");

    private List<string> Tokens(string local) =>
        new[] { "new", "cur" }.SelectMany(d => Directory.GetFiles(Path.Combine(Maildir(local), d)))
            .Select(f => File.ReadAllLines(f).First(l => l.StartsWith("X-Token: ", StringComparison.Ordinal))[9..]).ToList();

    /// <summary>How many files joe's and ann's Maildirs hold (cheap enough to poll: no file is read).</summary>
    private int Delivered() =>
        new[] { "joe", "ann" }.SelectMany(u => new[] { "new", "cur" }.Select(d => Path.Combine(Maildir(u), d)))
            .Sum(d => Directory.Exists(d) ? Directory.EnumerateFiles(d).Count() : 0);

    /// <summary>Queues <paramref name="messages"/> messages with delivery held, so later kills land mid-delivery; returns their tokens.</summary>
    private async Task<ConcurrentBag<string>> FillAsync(int port, int messages, string[] recipients)
    {
        var tokens = new ConcurrentBag<string>();
        var rcpts = string.Concat(recipients.Select(r => $"RCPT TO:<{r}>\r\n"));
        using var server = Start(port, deliver: false);
        await ServerProcesses.WaitListeningAsync(port);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            var s = tcp.GetStream();
            var r = new ReplyReader(s);
            await r.ReadLineAsync();
            await s.WriteAsync("HELO load.test\r\n"u8.ToArray());
            await r.ReadLineAsync();
            for (var i = w; i < messages; i += 8)
            {
                var token = $"{i}-{Guid.NewGuid():N}";
                await s.WriteAsync(Encoding.ASCII.GetBytes($"MAIL FROM:<s@remote.test>\r\n{rcpts}DATA\r\n"));
                for (var k = 0; k < 2 + recipients.Length; k++)
                    await r.ReadLineAsync();
                await s.WriteAsync(Encoding.ASCII.GetBytes($"X-Token: {token}\r\nSubject: t\r\n\r\n{new string('z', 2000)}\r\n.\r\n"));
                Assert.StartsWith("250 2.0.0 Ok: queued as", await r.ReadLineAsync());
                tokens.Add(token);
            }
        })));
        server.Kill();
        await server.WaitForExitAsync();
        return tokens;
    }

    [Fact]
    public async Task Every_recipient_is_delivered_exactly_once_across_SIGKILLs()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "ann@hosted.test")).Ok();
        var port = ServerProcesses.FreePort();
        const int Messages = 600;
        var tokens = await FillAsync(port, Messages, ["joe@hosted.test", "ann@hosted.test"]);

        var rng = new Random(1123);
        var kills = 0;
        var partial = new List<int>();
        for (var round = 0; round < 3; round++)
        {
            // Killed after this round's first arrival (waited for, bounded) plus a random moment:
            // a fixed 50-400 ms after the port opened let a fast machine deliver all 1,200 first.
            var before = Delivered();
            using var server = Start(port, deliver: true);
            await ServerProcesses.WaitListeningAsync(port);
            for (var i = 0; i < 5000 && Delivered() == before; i++)
                await Task.Delay(2);
            await Task.Delay(rng.Next(0, 20));
            server.Kill();
            await server.WaitForExitAsync();
            kills++;
            partial.Add(Tokens("joe").Count + Tokens("ann").Count);
        }
        // The kills must have landed mid-delivery, or this test would prove nothing.
        Assert.Contains(partial, n => n is > 0 and < 2 * Messages);
        using (var server = Start(port, deliver: true))
        {
            await ServerProcesses.WaitListeningAsync(port);
            for (var i = 0; i < 300 && (Tokens("joe").Count < Messages || Tokens("ann").Count < Messages); i++)
                await Task.Delay(100);
            using (var term = Process.Start("kill", ["-TERM", server.Id.ToString()]))
                await term.WaitForExitAsync();
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        foreach (var user in new[] { "joe", "ann" })
        {
            var got = Tokens(user);
            Assert.Equal(tokens.Order(), got.Order()); // every message, each once
            Assert.Empty(Directory.GetFiles(Path.Combine(Maildir(user), "tmp")));
        }
        var stat = (await _m.Run("queue", "stat")).Ok().Out;
        Assert.Contains("messages in queue: 0", stat);
        output.WriteLine($"{Messages} messages to 2 users, {kills} kills during delivery (delivered so far at each: {string.Join(", ", partial)}): {Tokens("joe").Count} + {Tokens("ann").Count} files, no duplicates");
    }

    [Fact]
    public async Task Remote_recipients_all_arrive_across_SIGKILLs_and_duplicates_are_counted()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok();
        await using var mta = new TestMta();
        var port = ServerProcesses.FreePort();
        const int Messages = 300;
        var tokens = await FillAsync(port, Messages, ["joe@hosted.test", "far@remote.test"]);
        string[] relay = [$"--Remote:SmartHost={mta.Endpoint}"];

        var kills = 0;
        var rng = new Random(2311);
        var partial = new List<int>();
        for (var round = 0; round < 3; round++)
        {
            using var server = Start(port, deliver: true, relay);
            await ServerProcesses.WaitListeningAsync(port);
            // Kill while delivery runs: after the first new arrival of this round (waited for, so a
            // slow machine does not kill before anything moved), then a random moment later.
            var before = mta.Received.Count;
            for (var i = 0; i < 200 && mta.Received.Count == before && before < Messages; i++)
                await Task.Delay(50);
            await Task.Delay(rng.Next(0, 200));
            server.Kill();
            await server.WaitForExitAsync();
            kills++;
            partial.Add(mta.Received.Count);
        }
        Assert.Contains(partial, n => n is > 0 and < Messages);
        using (var server = Start(port, deliver: true, relay))
        {
            await ServerProcesses.WaitListeningAsync(port);
            for (var i = 0; i < 300 && (Tokens("joe").Count < Messages || mta.Received.Select(TokenOf).Distinct().Count() < Messages); i++)
                await Task.Delay(100);
            using (var term = Process.Start("kill", ["-TERM", server.Id.ToString()]))
                await term.WaitForExitAsync();
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        var remote = mta.Received.Select(TokenOf).ToList();
        Assert.Equal(tokens.Order(), remote.Distinct().Order()); // every message reached the remote side
        Assert.Equal(tokens.Order(), Tokens("joe").Order());     // and the local user exactly once
        var duplicates = remote.Count - remote.Distinct().Count();
        // A kill can repeat only the remote transactions in flight: at most Delivery:RemoteConcurrency (20) per kill.
        Assert.InRange(duplicates, 0, kills * 20);
        Assert.Contains("messages in queue: 0", (await _m.Run("queue", "stat")).Ok().Out);
        output.WriteLine($"{Messages} messages to one local and one remote recipient, {kills} kills (remote arrivals at each: {string.Join(", ", partial)}): " +
                         $"local exactly once; remote duplicates {duplicates} of {remote.Count} arrivals");
    }

    private static string TokenOf(ReceivedMail mail)
    {
        var text = Encoding.ASCII.GetString(mail.Data);
        var at = text.IndexOf("X-Token: ", StringComparison.Ordinal);
        Assert.True(at >= 0, "no token in: " + text[..Math.Min(300, text.Length)]);
        return text[(at + 9)..text.IndexOf('\r', at)];
    }
}
