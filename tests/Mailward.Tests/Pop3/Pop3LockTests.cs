// The POP3 lock across crashes (docs/mail-store.md "The POP3 lock"), with the real executable: a
// session's lock left by kill -9 is taken over at the next login after a restart; a lock of a live
// holder (this server's own session, or another node's fresh lock) is respected.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Core.MailStore.Locks;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Pop3;

public sealed class Pop3LockTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    private string LockFile => Path.Combine(_m.MailStore, "hosted.test", "joe", "Maildir", MaildirLocks.LockName);

    private sealed class Client : IDisposable
    {
        private readonly TcpClient _tcp = new();
        private ReplyReader _r = null!;
        private NetworkStream _s = null!;

        public static async Task<(Client Client, string Answer)> LoginAsync(int port)
        {
            var c = new Client();
            await c._tcp.ConnectAsync(IPAddress.Loopback, port);
            c._s = c._tcp.GetStream();
            c._r = new ReplyReader(c._s);
            Assert.StartsWith("+OK", await c._r.ReadLineAsync());
            await c._s.WriteAsync(Encoding.ASCII.GetBytes("USER joe@hosted.test\r\nPASS testpw\r\n"));
            await c._r.ReadLineAsync();
            return (c, await c._r.ReadLineAsync() ?? "<closed>");
        }

        public void Dispose() => _tcp.Dispose();
    }

    private async Task<(System.Diagnostics.Process Server, int Pop3)> StartAsync(params string[] extra)
    {
        var smtp = ServerProcesses.FreePort();
        var pop3 = ServerProcesses.FreePort();
        var p = _servers.Start(_m.Data, smtp, ["--Log:Level=Warning", $"--Pop3:Port={pop3}", "--Node:Id=node-a", "--Pop3:FailedLoginDelayMilliseconds=0", .. extra]);
        await ServerProcesses.WaitListeningAsync(pop3);
        return (p, pop3);
    }

    [Fact]
    public async Task A_lock_left_by_kill_9_is_taken_over_at_once_after_a_restart()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok(); // DES crypt of "testpw"
        var (server, pop3) = await StartAsync();
        var (first, answer) = await Client.LoginAsync(pop3);
        Assert.StartsWith("+OK", answer);
        var (second, refused) = await Client.LoginAsync(pop3);
        Assert.StartsWith("-ERR [IN-USE]", refused); // a live session of this server holds it
        second.Dispose();

        server.Kill(); // SIGKILL: the session never gives its lock back
        await server.WaitForExitAsync();
        first.Dispose();
        Assert.True(File.Exists(LockFile), "the killed session's lock file should be left behind");
        Assert.Equal("node-a", MaildirLocks.Parse(await File.ReadAllTextAsync(LockFile))!.NodeId);

        (server, pop3) = await StartAsync();
        var (again, after) = await Client.LoginAsync(pop3);
        Assert.StartsWith("+OK", after); // not -ERR [IN-USE] for Pop3:LockStaleSeconds
        again.Dispose();
    }

    [Fact]
    public async Task A_fresh_lock_of_another_node_is_respected_and_a_gone_process_of_this_node_is_not()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok();
        Directory.CreateDirectory(Path.GetDirectoryName(LockFile)!);
        var boot = ProcessIdentity.BootIdOfThisMachine();
        // Another node's session: its processes cannot be seen from here, so it counts as live until stale.
        await File.WriteAllTextAsync(LockFile, MaildirLocks.Render(new ProcessIdentity("node-b", boot, Environment.ProcessId, 1), "mail.test B1"));
        var (server, pop3) = await StartAsync();
        var (c1, a1) = await Client.LoginAsync(pop3);
        c1.Dispose();
        Assert.StartsWith("-ERR [IN-USE]", a1);

        // This node's, of a process that does not run (the pid is ours, the start time is not): taken over.
        await File.WriteAllTextAsync(LockFile, MaildirLocks.Render(new ProcessIdentity("node-a", boot, server.Id, 1), "mail.test A1"));
        var (c2, a2) = await Client.LoginAsync(pop3);
        c2.Dispose();
        Assert.StartsWith("+OK", a2);
    }
}
