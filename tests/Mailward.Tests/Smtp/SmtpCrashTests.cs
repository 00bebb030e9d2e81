// Never lose accepted mail: a child `mailward serve` takes mail from concurrent senders and is
// killed with SIGKILL at random moments, several times. After the last restart every message that
// got a 250 is in the queue exactly once, and no partial file is left (docs/queue-format.md).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Core.Queue;
using Mailward.Tests.Support;
using Xunit.Abstractions;

namespace Mailward.Tests.Smtp;

public sealed class SmtpCrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly MailwardRunner _m = new();

    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    private Process StartServer(int port) => _servers.Start(_m.Data, port, "--Delivery:Enabled=false");

    /// <summary>One SMTP transaction; the token when the server answered 250 after DATA, else null.</summary>
    private static async Task<string?> SendOnceAsync(int port, int sender, int n)
    {
        var token = $"{sender}-{n}-{Guid.NewGuid():N}";
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            var s = tcp.GetStream();
            var r = new ReplyReader(s);
            if ((await r.ReadLineAsync())?.StartsWith("220", StringComparison.Ordinal) != true)
                return null;
            await s.WriteAsync(Encoding.ASCII.GetBytes("HELO crash.test\r\nMAIL FROM:<s@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\n"));
            for (var i = 0; i < 4; i++)
                if ((await r.ReadLineAsync()) is not { } line || line[0] is not ('2' or '3'))
                    return null;
            var body = new StringBuilder($"X-Token: {token}\r\nSubject: crash test\r\n\r\n");
            body.Append(string.Concat(Enumerable.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 30 + n % 50)));
            body.Append(".\r\nQUIT\r\n");
            await s.WriteAsync(Encoding.ASCII.GetBytes(body.ToString()));
            var reply = await r.ReadLineAsync();
            return reply?.StartsWith("250 2.0.0 Ok: queued as ", StringComparison.Ordinal) == true ? token : null;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    [Fact]
    public async Task Every_250_survives_repeated_SIGKILL_exactly_once()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok();
        var port = ServerProcesses.FreePort();
        var acknowledged = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var senders = Enumerable.Range(0, 8).Select(sender => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                if (await SendOnceAsync(port, sender, n) is { } token)
                    acknowledged.Add(token);
                else
                    await Task.Delay(20);
            }
        })).ToArray();

        var rng = new Random(20261123);
        for (var round = 0; round < 4; round++)
        {
            using var server = StartServer(port);
            await ServerProcesses.WaitListeningAsync(port);
            await Task.Delay(rng.Next(400, 1500));
            server.Kill(); // SIGKILL: no shutdown, no flush
            await server.WaitForExitAsync();
        }
        stop.Cancel();
        await Task.WhenAll(senders);

        // One clean start recovers what the last kill left, then a graceful stop.
        using (var server = StartServer(port))
        {
            await ServerProcesses.WaitListeningAsync(port);
            using (var term = Process.Start("kill", ["-TERM", server.Id.ToString()]))
                await term.WaitForExitAsync();
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, server.ExitCode);
        }

        var queueDir = Path.Combine(_m.Data, "queue");
        await using var queue = QueueStore.Open(queueDir);
        var tokens = new Dictionary<string, int>();
        foreach (var m in queue.Messages)
        {
            using var body = QueueStore.OpenBody(m);
            using var text = new StreamReader(body, Encoding.ASCII);
            var content = await text.ReadToEndAsync();
            var start = content.IndexOf("X-Token: ", StringComparison.Ordinal) + 9;
            var token = content[start..content.IndexOf('\r', start)];
            tokens[token] = tokens.GetValueOrDefault(token) + 1;
            // The body is whole: exactly the 30 + n % 50 lines its sender wrote, then nothing.
            var n = int.Parse(token.Split('-')[1]);
            const string Line = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n";
            Assert.EndsWith("\r\n\r\n" + string.Concat(Enumerable.Repeat(Line, 30 + n % 50)), content);
        }
        Assert.True(acknowledged.Count > 20, $"only {acknowledged.Count} messages were acknowledged: the test did not exercise the server");
        Assert.All(acknowledged, t => Assert.Equal(1, tokens.GetValueOrDefault(t)));
        Assert.All(tokens, kv => Assert.Equal(1, kv.Value)); // never twice, acknowledged or not
        Assert.Empty(Directory.GetFiles(Path.Combine(queueDir, "tmp")));
        Assert.All(Directory.GetFiles(Path.Combine(queueDir, "body")), f => Assert.True(queue.Contains(Path.GetFileName(f))));
        Assert.Empty(queue.RecoveryErrors);
        output.WriteLine($"{acknowledged.Count} acknowledged, {tokens.Count} in the queue after 4 kills");
    }
}
