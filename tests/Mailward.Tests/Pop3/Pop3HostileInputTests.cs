// Hostile input on POP3: a 10 MB command line costs no memory and holds no one up (a child
// `mailward serve`, its resident memory read from /proc), the connection limits answer
// [SYS/TEMP] per client and in all, and an idle session is logged out.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Xunit.Abstractions;

namespace Mailward.Tests.Pop3;

public sealed class Pop3HostileInputTests(ITestOutputHelper output) : IDisposable
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

    /// <summary>A whole session from another address; fails when it is not served within 5 s.</summary>
    private static async Task FreshClientIsServedAsync(IPEndPoint to)
    {
        var sw = Stopwatch.StartNew();
        var (s, r) = await ConnectAsync(to, "127.0.0.2");
        await using var _ = s;
        Assert.StartsWith("+OK", await r.ReadLineAsync());
        await s.WriteAsync("USER joe@hosted.test\r\nPASS pw\r\nSTAT\r\nQUIT\r\n"u8.ToArray());
        Assert.Equal("+OK send PASS", await r.ReadLineAsync());
        Assert.StartsWith("+OK 0 messages", await r.ReadLineAsync());
        Assert.Equal("+OK 0 0", await r.ReadLineAsync());
        Assert.StartsWith("+OK bye", await r.ReadLineAsync());
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"a fresh client waited {sw.Elapsed}");
    }

    [Fact]
    public async Task A_ten_megabyte_line_costs_no_memory_and_leaves_others_served()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "joe@hosted.test", "pw")).Ok();
        var pop3 = ServerProcesses.FreePort();
        using var server = _servers.Start(_m.Data, ServerProcesses.FreePort(), $"--Pop3:Port={pop3}", "--Log:Level=Warning");
        await ServerProcesses.WaitListeningAsync(pop3);
        var at = new IPEndPoint(IPAddress.Loopback, pop3);
        await FreshClientIsServedAsync(at); // warm up
        var before = ServerProcesses.ResidentKiB(server);
        var line = new byte[10 << 20];
        Array.Fill(line, (byte)'A');

        var (flood, reader) = await ConnectAsync(at, "127.0.0.3");
        await using (flood)
        {
            Assert.StartsWith("+OK", await reader.ReadLineAsync());
            await flood.WriteAsync("USER "u8.ToArray());
            var send = flood.WriteAsync(line).AsTask();
            await FreshClientIsServedAsync(at); // while the flood is on
            await send;
            await flood.WriteAsync("\r\nUSER joe@hosted.test\r\nPASS pw\r\nQUIT\r\n"u8.ToArray());
            Assert.Equal("-ERR line too long", await reader.ReadLineAsync());
            Assert.Equal("+OK send PASS", await reader.ReadLineAsync()); // the session carries on
            Assert.StartsWith("+OK 0 messages", await reader.ReadLineAsync());
            Assert.StartsWith("+OK bye", await reader.ReadLineAsync());
        }
        var after = ServerProcesses.ResidentKiB(server);
        output.WriteLine($"resident memory: {before} KiB before, {after} KiB after a 10 MB line");
        Assert.True(after - before < 8 * 1024, $"resident memory grew by {after - before} KiB");
    }

    [Fact]
    public async Task Connection_limits_answer_SYS_TEMP_per_client_and_in_all()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Pop3:MaxConnections=5", "--Pop3:MaxConnectionsPerClient=3");
        var open = new List<NetworkStream>();
        try
        {
            for (var i = 0; i < 3; i++)
                open.Add(await Greeted(server.Pop3, "127.0.4.1"));
            Assert.Equal("-ERR [SYS/TEMP] too many connections; try again later", await FirstLine(server.Pop3, "127.0.4.1")); // fourth from one address
            for (var i = 0; i < 2; i++)
                open.Add(await Greeted(server.Pop3, "127.0.4.2"));
            Assert.StartsWith("-ERR [SYS/TEMP]", await FirstLine(server.Pop3, "127.0.4.3")); // sixth in all
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            var first = "";
            for (var i = 0; i < 50 && !first.StartsWith("+OK", StringComparison.Ordinal); i++)
            {
                await Task.Delay(100);
                first = await FirstLine(server.Pop3, "127.0.4.3");
            }
            Assert.StartsWith("+OK", first); // a freed slot is usable again
        }
        finally
        {
            foreach (var s in open)
                await s.DisposeAsync();
        }

        static async Task<NetworkStream> Greeted(IPEndPoint to, string from)
        {
            var (s, r) = await ConnectAsync(to, from);
            Assert.StartsWith("+OK", await r.ReadLineAsync());
            return s;
        }

        static async Task<string> FirstLine(IPEndPoint to, string from)
        {
            var (s, r) = await ConnectAsync(to, from);
            await using var _ = s;
            return await r.ReadLineAsync() ?? "<closed>";
        }
    }

    [Fact]
    public async Task An_idle_session_is_logged_out()
    {
        // Pop3:CommandTimeoutSeconds cannot go below RFC 1939's ten minutes, so the session is driven directly.
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        var (client, server) = DuplexStream.CreatePair();
        var logins = new Core.Auth.LoginService(_m.Store, new Core.Passwords.PasswordHasher(new Core.Passwords.PasswordOptions()),
            new Core.Auth.LoginOptions());
        var session = new Protocols.Pop3.Pop3Session(new Protocols.Pop3.Pop3Options { Hostname = "mail.test", CommandTimeout = TimeSpan.FromMilliseconds(300) },
            logins, TestMailStores.Store(new Core.MailStore.MailStoreLayout(_m.MailStore)), TestMailStores.Locks(new Core.MailStore.MailStoreLayout(_m.MailStore)),
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var run = session.RunAsync(server, new Protocols.Pop3.Pop3SessionInfo("I", IPAddress.Loopback, IPAddress.Loopback), CancellationToken.None);
        var r = new ReplyReader(client);
        Assert.StartsWith("+OK", await r.ReadLineAsync());
        Assert.Equal("-ERR autologout: idle too long", await r.ReadLineAsync());
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
