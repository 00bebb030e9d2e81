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

    public void Dispose() => _m.Dispose();

    private Process Start(int port, bool deliver)
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "mailward")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--data", _m.Data, "--Listen:Address=127.0.0.1", $"--Smtp:Port={port}", "--Hostname=mail.test",
                     "--Log:Level=Warning", $"--Delivery:Enabled={deliver}", "serve" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task WaitListeningAsync(int port)
    {
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException("server did not start");
    }

    private string Maildir(string local) => Path.Combine(_m.MailStore, "hosted.test", local, "Maildir");

    private List<string> Tokens(string local) =>
        new[] { "new", "cur" }.SelectMany(d => Directory.GetFiles(Path.Combine(Maildir(local), d)))
            .Select(f => File.ReadAllLines(f).First(l => l.StartsWith("X-Token: ", StringComparison.Ordinal))[9..]).ToList();

    [Fact]
    public async Task Every_recipient_is_delivered_exactly_once_across_SIGKILLs()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "ann@hosted.test")).Ok();
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();

        // Fill the queue with delivery held, so the kills below land in the middle of delivering.
        const int Messages = 600;
        var tokens = new ConcurrentBag<string>();
        using (var server = Start(port, deliver: false))
        {
            await WaitListeningAsync(port);
            await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port);
                var s = tcp.GetStream();
                var r = new TranscriptRunner.ReplyReader(s);
                await r.ReadLineAsync();
                await s.WriteAsync("HELO load.test\r\n"u8.ToArray());
                await r.ReadLineAsync();
                for (var i = w; i < Messages; i += 8)
                {
                    var token = $"{i}-{Guid.NewGuid():N}";
                    await s.WriteAsync(Encoding.ASCII.GetBytes($"MAIL FROM:<s@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\nRCPT TO:<ann@hosted.test>\r\nDATA\r\n"));
                    for (var k = 0; k < 4; k++)
                        await r.ReadLineAsync();
                    await s.WriteAsync(Encoding.ASCII.GetBytes($"X-Token: {token}\r\nSubject: t\r\n\r\n{new string('z', 2000)}\r\n.\r\n"));
                    Assert.StartsWith("250 2.0.0 Ok: queued as", await r.ReadLineAsync());
                    tokens.Add(token);
                }
            })));
            server.Kill();
            await server.WaitForExitAsync();
        }

        var rng = new Random(1123);
        var kills = 0;
        var partial = new List<int>();
        for (var round = 0; round < 3; round++)
        {
            using var server = Start(port, deliver: true);
            await WaitListeningAsync(port);
            await Task.Delay(rng.Next(50, 400));
            server.Kill();
            await server.WaitForExitAsync();
            kills++;
            partial.Add(Tokens("joe").Count + Tokens("ann").Count);
        }
        // The kills must have landed mid-delivery, or this test would prove nothing.
        Assert.Contains(partial, n => n is > 0 and < 2 * Messages);
        using (var server = Start(port, deliver: true))
        {
            await WaitListeningAsync(port);
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
}
