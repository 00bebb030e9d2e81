// Hostile input gets a clear protocol error, bounded memory and time, and nothing lost for anyone
// else: a 10 MB line without CRLF (as a command and inside DATA), 300 idle connections and a client
// that sends one byte a second, against a child `mailward serve` whose resident memory is read
// from /proc; plus the connection limits and the command timeout.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Support;
using Xunit.Abstractions;

namespace Mailward.Tests.Smtp;

public sealed class SmtpHostileInputTests(ITestOutputHelper output) : IDisposable
{
    private readonly MailwardRunner _m = new();

    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    private async Task<(Process Server, int Port)> StartChildAsync(params string[] settings)
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok();
        var port = ServerProcesses.FreePort();
        var p = _servers.Start(_m.Data, port, ["--Log:Level=Warning", .. settings]);
        await ServerProcesses.WaitListeningAsync(port);
        return (p, port);
    }

    private static async Task<(NetworkStream Stream, ReplyReader Reader)> ConnectAsync(int port, string from = "127.0.0.1")
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var s = new NetworkStream(socket, ownsSocket: true);
        return (s, new ReplyReader(s));
    }

    /// <summary>A whole transaction by a well-behaved client; fails unless it is served promptly.</summary>
    private static async Task FreshClientIsServedAsync(int port)
    {
        var sw = Stopwatch.StartNew();
        var (s, r) = await ConnectAsync(port, "127.0.0.2");
        await using var _ = s;
        Assert.StartsWith("220 ", await r.ReadLineAsync());
        await s.WriteAsync("HELO fresh.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\n"u8.ToArray());
        Assert.Equal("250 mail.test", await r.ReadLineAsync());
        Assert.Equal("250 2.1.0 Ok", await r.ReadLineAsync());
        Assert.Equal("250 2.1.5 Ok", await r.ReadLineAsync());
        Assert.StartsWith("354 ", await r.ReadLineAsync());
        await s.WriteAsync("Subject: fresh\r\n\r\nhello\r\n.\r\n"u8.ToArray());
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await r.ReadLineAsync());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"a fresh client waited {sw.Elapsed}");
    }

    [Fact]
    public async Task Ten_megabyte_lines_cost_no_memory_and_leave_others_served()
    {
        var (server, port) = await StartChildAsync();
        using var _ = server;
        try
        {
            await FreshClientIsServedAsync(port); // warm up
            var before = ServerProcesses.ResidentKiB(server);
            var line = new byte[10 << 20];
            Array.Fill(line, (byte)'A');

            // As a command: answered 500 once the line ends, and the session goes on.
            var (cmd, cmdReader) = await ConnectAsync(port, "127.0.0.3");
            await using (cmd)
            {
                Assert.StartsWith("220 ", await cmdReader.ReadLineAsync());
                var send = cmd.WriteAsync(line).AsTask();
                await FreshClientIsServedAsync(port); // while the flood is on
                await send;
                await cmd.WriteAsync("\r\nNOOP\r\n"u8.ToArray());
                Assert.Equal("500 5.5.2 Error: line too long", await cmdReader.ReadLineAsync());
                Assert.Equal("250 2.0.0 Ok", await cmdReader.ReadLineAsync());
            }

            // Inside DATA: the message is refused, the session survives.
            var (data, dataReader) = await ConnectAsync(port, "127.0.0.4");
            await using (data)
            {
                Assert.StartsWith("220 ", await dataReader.ReadLineAsync());
                await data.WriteAsync("HELO x.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\n"u8.ToArray());
                for (var i = 0; i < 4; i++)
                    await dataReader.ReadLineAsync();
                await data.WriteAsync(line);
                await data.WriteAsync("\r\n.\r\nNOOP\r\n"u8.ToArray());
                Assert.StartsWith("554 5.6.0 Error: message has a line longer", await dataReader.ReadLineAsync()); // Smtp:MaxLineLength trips first
                Assert.Equal("250 2.0.0 Ok", await dataReader.ReadLineAsync());
            }
            var after = ServerProcesses.ResidentKiB(server);
            output.WriteLine($"resident memory: {before} KiB before, {after} KiB after two 10 MB lines");
            Assert.True(after - before < 8 * 1024, $"resident memory grew by {after - before} KiB");
        }
        finally
        {
            server.Kill();
        }
    }

    [Fact]
    public async Task Three_hundred_idle_connections_and_a_slow_sender_do_not_starve_a_fresh_client()
    {
        var (server, port) = await StartChildAsync();
        using var _ = server;
        var idle = new List<NetworkStream>();
        try
        {
            await FreshClientIsServedAsync(port);
            var before = ServerProcesses.ResidentKiB(server);
            // 300 connections spread over 15 loopback addresses (20 each: the per-client limit).
            for (var i = 0; i < 300; i++)
            {
                var (s, r) = await ConnectAsync(port, $"127.0.3.{i / 20 + 1}");
                Assert.StartsWith("220 ", await r.ReadLineAsync());
                idle.Add(s);
            }
            using var slowStop = new CancellationTokenSource();
            var slow = Task.Run(async () =>
            {
                var (s, r) = await ConnectAsync(port, "127.0.0.5");
                await using var _ = s;
                await r.ReadLineAsync();
                foreach (var b in "HELO slow.test\r\n"u8.ToArray())
                {
                    await s.WriteAsync(new[] { b });
                    await Task.Delay(1000, slowStop.Token).ContinueWith(_ => { });
                    if (slowStop.IsCancellationRequested)
                        return;
                }
            });
            await Task.Delay(1500);
            await FreshClientIsServedAsync(port);
            var after = ServerProcesses.ResidentKiB(server);
            output.WriteLine($"resident memory: {before} KiB before, {after} KiB with 300 idle connections and a slow sender");
            Assert.True(after - before < 64 * 1024, $"300 idle connections cost {after - before} KiB");
            slowStop.Cancel();
            await slow;
        }
        finally
        {
            foreach (var s in idle)
                await s.DisposeAsync();
            server.Kill();
        }
    }

    [Fact]
    public async Task Connection_limits_answer_421_per_client_and_in_all()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Smtp:MaxConnections=5", "--Smtp:MaxConnectionsPerClient=3");
        var open = new List<NetworkStream>();
        try
        {
            for (var i = 0; i < 3; i++)
                open.Add(await Greeted(server, "127.0.4.1"));
            Assert.StartsWith("421 4.7.0", await FirstLine(server, "127.0.4.1")); // fourth from one address
            for (var i = 0; i < 2; i++)
                open.Add(await Greeted(server, "127.0.4.2"));
            Assert.StartsWith("421 4.7.0", await FirstLine(server, "127.0.4.3")); // sixth in all
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            var first = "";
            for (var i = 0; i < 50 && !first.StartsWith("220", StringComparison.Ordinal); i++)
            {
                await Task.Delay(100);
                first = await FirstLine(server, "127.0.4.3");
            }
            Assert.StartsWith("220 ", first); // a freed slot is usable again
        }
        finally
        {
            foreach (var s in open)
                await s.DisposeAsync();
        }

        static async Task<NetworkStream> Greeted(ServerFixture server, string from)
        {
            var s = await server.ConnectAsync(from);
            Assert.StartsWith("220 ", await new ReplyReader(s).ReadLineAsync());
            return s;
        }

        static async Task<string> FirstLine(ServerFixture server, string from)
        {
            await using var s = await server.ConnectAsync(from);
            return await new ReplyReader(s).ReadLineAsync() ?? "<closed>";
        }
    }

    [Fact]
    public async Task An_idle_client_is_closed_after_the_command_timeout()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Smtp:CommandTimeoutSeconds=1");
        await using var s = await server.ConnectAsync("127.0.0.9");
        var r = new ReplyReader(s);
        Assert.StartsWith("220 ", await r.ReadLineAsync());
        var sw = Stopwatch.StartNew();
        Assert.Equal("421 4.4.2 Error: timeout exceeded; closing connection", await r.ReadLineAsync());
        Assert.Null(await r.ReadLineAsync());
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.5, 10);
    }

    [Fact]
    public async Task A_client_dripping_a_command_line_is_closed_after_the_command_timeout()
    {
        // One byte every 0.4 s keeps each read inside a 1 s timeout; the whole line must still come within it.
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Smtp:CommandTimeoutSeconds=1");
        await using var s = await server.ConnectAsync("127.0.0.9");
        var r = new ReplyReader(s);
        Assert.StartsWith("220 ", await r.ReadLineAsync());
        var sw = Stopwatch.StartNew();
        var drip = Task.Run(async () =>
        {
            try
            {
                foreach (var b in "NOOP NOOP NOOP NOOP NOOP NOOP\r\n"u8.ToArray())
                {
                    await s.WriteAsync(new[] { b });
                    await Task.Delay(400);
                }
            }
            catch (IOException)
            {
                // closed by the server: what the test wants
            }
        });
        Assert.Equal("421 4.4.2 Error: timeout exceeded; closing connection", await r.ReadLineAsync());
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.5, 5); // the drip would take 12 s
        await drip;
    }
}
