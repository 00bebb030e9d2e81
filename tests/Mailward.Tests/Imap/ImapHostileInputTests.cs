// Hostile input on IMAP against a child `mailward serve` (its resident memory read from /proc):
// a 10 MB line, a literal of 2^31 octets announced, 10,000 nested parentheses, 300 idle
// connections, a client dripping a line and a server out of descriptors; after each, a fresh
// client logs in and is served. Also the STARTTLS injection case: commands pipelined behind
// STARTTLS are never run.
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Xunit.Abstractions;

namespace Mailward.Tests.Imap;

public sealed class ImapHostileInputTests(ITestOutputHelper output) : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    private static async Task<(NetworkStream Stream, ReplyReader Reader)> ConnectAsync(IPEndPoint to, string from)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        await socket.ConnectAsync(to);
        var s = new NetworkStream(socket, ownsSocket: true);
        return (s, new ReplyReader(s));
    }

    /// <summary>A whole session from another address; fails when it is not served within 10 s (a loaded CI machine's Argon2 and all).</summary>
    private static async Task FreshClientIsServedAsync(IPEndPoint to, bool timed = true)
    {
        var sw = Stopwatch.StartNew();
        var (s, r) = await ConnectAsync(to, "127.0.0.2");
        await using var _ = s;
        Assert.StartsWith("* OK", await r.ReadLineAsync());
        await s.WriteAsync("f1 LOGIN joe@hosted.test pw\r\nf2 SELECT INBOX\r\nf3 LOGOUT\r\n"u8.ToArray());
        Assert.StartsWith("f1 OK", await r.ReadLineAsync());
        string? line;
        while ((line = await r.ReadLineAsync()) is not null && !line.StartsWith("f2 ", StringComparison.Ordinal))
        {
        }
        Assert.StartsWith("f2 OK", line);
        Assert.StartsWith("* BYE", await r.ReadLineAsync());
        Assert.True(!timed || sw.Elapsed < TimeSpan.FromSeconds(10), $"a fresh client waited {sw.Elapsed}");
    }

    private async Task<(Process Server, IPEndPoint At)> StartAsync(params string[] settings)
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "joe@hosted.test", "pw")).Ok();
        var imap = ServerProcesses.FreePort();
        var server = _servers.Start(_m.Data, ServerProcesses.FreePort(), [$"--Imap:Port={imap}", "--Imap:FailedLoginDelayMilliseconds=0", "--Log:Level=Warning", .. settings]);
        await ServerProcesses.WaitListeningAsync(imap);
        var at = new IPEndPoint(IPAddress.Loopback, imap);
        await FreshClientIsServedAsync(at, timed: false); // warm up: the first login starts the JIT
        return (server, at);
    }

    [Fact]
    public async Task A_ten_megabyte_line_costs_no_memory_and_leaves_others_served()
    {
        var (server, at) = await StartAsync();
        var before = ServerProcesses.ResidentKiB(server);
        var line = new byte[10 << 20];
        Array.Fill(line, (byte)'A');
        var (flood, reader) = await ConnectAsync(at, "127.0.0.3");
        await using (flood)
        {
            Assert.StartsWith("* OK", await reader.ReadLineAsync());
            await flood.WriteAsync("a1 LOGIN "u8.ToArray());
            var send = flood.WriteAsync(line).AsTask();
            await FreshClientIsServedAsync(at); // while the flood is on
            await send;
            await flood.WriteAsync("\r\na2 LOGIN joe@hosted.test pw\r\n"u8.ToArray());
            Assert.Equal("* BAD line too long", await reader.ReadLineAsync());
            Assert.StartsWith("a2 OK", await reader.ReadLineAsync()); // the session carries on
        }
        var after = ServerProcesses.ResidentKiB(server);
        output.WriteLine($"resident memory: {before} KiB before, {after} KiB after a 10 MB line");
        Assert.True(after - before < 8 * 1024, $"resident memory grew by {after - before} KiB");
        await FreshClientIsServedAsync(at);
    }

    [Fact]
    public async Task A_huge_literal_and_deep_nesting_are_refused_at_once()
    {
        var (_, at) = await StartAsync();
        var (s, r) = await ConnectAsync(at, "127.0.0.3");
        await using (s)
        {
            Assert.StartsWith("* OK", await r.ReadLineAsync());
            await s.WriteAsync("a1 LOGIN joe@hosted.test pw\r\n"u8.ToArray());
            Assert.StartsWith("a1 OK", await r.ReadLineAsync());
            // A synchronizing literal of 2^31 octets: refused before a byte of it is sent; the session goes on.
            await s.WriteAsync("a2 APPEND INBOX {2147483648}\r\n"u8.ToArray());
            Assert.Equal("a2 NO [TOOBIG] the message is larger than APPENDLIMIT 52428800", await r.ReadLineAsync());
            await s.WriteAsync("a3 SEARCH {2147483648}\r\n"u8.ToArray());
            Assert.Equal("a3 BAD [TOOBIG] literal larger than 65536 octets", await r.ReadLineAsync());
            // 10,000 nested parentheses: refused at the nesting limit, in one line.
            await s.WriteAsync(Encoding.ASCII.GetBytes("a4 FETCH 1 " + new string('(', 10_000) + new string(')', 10_000) + "\r\n"));
            Assert.Equal("a4 BAD lists nested too deeply", await r.ReadLineAsync());
            await s.WriteAsync("a5 NOOP\r\n"u8.ToArray());
            Assert.Equal("a5 OK NOOP completed", await r.ReadLineAsync());
            // A non-synchronizing one would come anyway: the session ends rather than read it.
            await s.WriteAsync("a6 APPEND INBOX {2147483648+}\r\n"u8.ToArray());
            Assert.Equal("* BYE [TOOBIG] literal too large; closing connection", await r.ReadLineAsync());
            Assert.Null(await r.ReadLineAsync());
        }
        await FreshClientIsServedAsync(at);
    }

    [Fact]
    public async Task Three_hundred_idle_connections_and_a_dripping_client_do_not_stop_a_fresh_login()
    {
        var (server, at) = await StartAsync("--Imap:LoginTimeoutSeconds=10");
        var before = ServerProcesses.ResidentKiB(server);
        var idle = new List<NetworkStream>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var (s, r) = await ConnectAsync(at, $"127.0.{10 + i / 90}.{1 + i % 90}");
                Assert.StartsWith("* OK", await r.ReadLineAsync());
                idle.Add(s);
            }
            var held = ServerProcesses.ResidentKiB(server);
            output.WriteLine($"resident memory: {before} KiB before, {held} KiB with 300 idle connections ({(held - before) / 300.0:F1} KiB each)");
            await FreshClientIsServedAsync(at);

            // A line dripped a byte a second: the whole line must come within the login timeout.
            var (drip, reader) = await ConnectAsync(at, "127.0.0.4");
            await using (drip)
            {
                Assert.StartsWith("* OK", await reader.ReadLineAsync());
                var sw = Stopwatch.StartNew();
                var closed = false;
                for (var i = 0; i < 30 && !closed; i++)
                {
                    try
                    {
                        await drip.WriteAsync("x"u8.ToArray());
                    }
                    catch (IOException)
                    {
                        closed = true;
                        break;
                    }
                    await Task.Delay(1000);
                    if (drip.DataAvailable)
                        closed = true;
                }
                Assert.True(closed, "the dripping client was never cut off");
                Assert.Equal("* BYE autologout; idle for too long", await reader.ReadLineAsync());
                output.WriteLine($"dripping client cut off after {sw.Elapsed.TotalSeconds:F0} s");
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(25));
            }
            await FreshClientIsServedAsync(at);
        }
        finally
        {
            foreach (var s in idle)
                await s.DisposeAsync();
        }
    }

    [Fact]
    public async Task Out_of_descriptors_the_listener_pauses_without_spinning_and_serves_again_when_sessions_end()
    {
        // The server may hold 150 descriptors more than it has once it serves, beyond the reserve it
        // leaves to the rest of itself (Imap:ReservedDescriptors, 128) (prlimit on the running
        // process: the runtime alone keeps two hundred files open): connections are opened until one
        // is not greeted, i.e. the listener paused and the client waits in the backlog
        // (StreamListeners.AcceptAsync). Without the reserve accept(2) took the last descriptor, and
        // the next thread the runtime started (each opens a pipe) aborted the server: "Out of memory."
        var (server, at) = await StartAsync("--Imap:MaxConnections=1000", "--Imap:MaxConnectionsPerClient=1000");
        var open = Directory.GetFiles($"/proc/{server.Id}/fd").Length;
        var limit = await ExternalProgram.RunAsync("prlimit", ["--pid", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), $"--nofile={open + 128 + 150}:{open + 128 + 150}"]);
        Assert.True(limit.Code == 0, limit.Err);
        var held = new List<NetworkStream>();
        try
        {
            Task<string?>? waiting = null;
            NetworkStream? waiter = null;
            for (var i = 0; i < 400 && waiting is null; i++)
            {
                var (s, r) = await ConnectAsync(at, "127.0.0.3");
                var greeting = r.ReadLineAsync();
                // Well inside the headroom a slow greeting is only a loaded machine: waited for longer.
                if (await Task.WhenAny(greeting, Task.Delay(held.Count < 140 ? 10_000 : 2000)) != greeting)
                    (waiting, waiter) = (greeting, s);
                else
                {
                    Assert.StartsWith("* OK", await greeting);
                    held.Add(s);
                }
            }
            Assert.NotNull(waiting);
            output.WriteLine($"{held.Count} connections greeted before accept ran out of descriptors");
            Assert.InRange(held.Count, 100, 160);

            // While out of descriptors: the accept loop waits between tries instead of spinning on them.
            var cpuBefore = CpuTicks(server);
            await Task.Delay(2000);
            var cpu = (CpuTicks(server) - cpuBefore) * 10; // ticks of 10 ms
            output.WriteLine($"server CPU over 2 s out of descriptors: {cpu} ms");
            Assert.True(cpu < 500, $"the server used {cpu} ms of CPU in 2 s while out of descriptors");
            Assert.False(waiting.IsCompleted);
            Assert.False(server.HasExited);

            // Sessions end: the client that waited in the backlog is greeted, and a fresh client is served.
            foreach (var s in held.Take(50))
                await s.DisposeAsync();
            held.RemoveRange(0, 50);
            Assert.StartsWith("* OK", await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
            held.Add(waiter!);
            await FreshClientIsServedAsync(at);
            Assert.False(server.HasExited);
            Assert.DoesNotContain(_servers.Output, l => l.Contains("Too many open files", StringComparison.Ordinal) || l.Contains("Out of memory", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var s in held)
                await s.DisposeAsync();
        }
    }

    /// <summary>A process's user and system time in clock ticks (fields 14 and 15 of /proc/PID/stat, after the name).</summary>
    private static long CpuTicks(Process p)
    {
        var stat = File.ReadAllText($"/proc/{p.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Commands_pipelined_behind_STARTTLS_are_discarded()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Imap:AllowPlaintextAuth=never");
        var (s, r) = await ConnectAsync(server.Imap, "127.0.0.9");
        await using (s)
        {
            Assert.Contains("STARTTLS", await r.ReadLineAsync());
            // The injection: a LOGIN sent in the same packet as STARTTLS, before the handshake.
            await s.WriteAsync("a1 STARTTLS\r\na2 LOGIN joe@hosted.test pw\r\n"u8.ToArray());
            Assert.Equal("a1 OK begin TLS negotiation now", await r.ReadLineAsync());
            using var tls = new SslStream(s, leaveInnerStreamOpen: true, (_, cert, _, _) => cert?.Subject == "CN=mail.test");
            await tls.AuthenticateAsClientAsync("mail.test");
            var tr = new ReplyReader(tls);
            await tls.WriteAsync("a3 CAPABILITY\r\n"u8.ToArray());
            var caps = await tr.ReadLineAsync();
            Assert.DoesNotContain("STARTTLS", caps);
            Assert.Contains("AUTH=PLAIN", caps);
            // The next answer is a3's: a2 was never run (it would have answered first).
            Assert.Equal("a3 OK CAPABILITY completed", await tr.ReadLineAsync());
            await tls.WriteAsync("a4 NOOP\r\n"u8.ToArray());
            Assert.Equal("a4 OK NOOP completed", await tr.ReadLineAsync());
        }
    }
}
