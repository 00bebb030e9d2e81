// Two nodes sharing one mail store (docs/mail-store.md "Maildir file names"): two `mailward serve`
// processes with different Node:Id, the same Hostname and the same queue ids deliver into one
// Maildir at once. Every delivery makes a file of its own; neither node takes the other's file for
// its own earlier delivery (before node ids, the second node counted the first's files as done).
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class TwoNodeDeliveryTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();
    private readonly TempFolder _second = new();

    public void Dispose()
    {
        _servers.Dispose();
        _second.Dispose();
        _m.Dispose();
    }

    private string Maildir => Path.Combine(_m.MailStore, "hosted.test", "joe", "Maildir");

    private string[] Delivered() => new[] { "new", "cur" }.SelectMany(d => Directory.GetFiles(Path.Combine(Maildir, d))).ToArray();

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from).Where(f => !f.EndsWith(".sock", StringComparison.Ordinal)))
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from))
            CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
    }

    [Fact]
    public async Task Two_nodes_delivering_the_same_queue_ids_into_one_maildir_never_collide()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok();
        const int Messages = 5;
        var portA = ServerProcesses.FreePort();
        using (var filling = _servers.Start(_m.Data, portA, "--Log:Level=Warning", "--Delivery:Enabled=false", "--Node:Id=node-a"))
        {
            await ServerProcesses.WaitListeningAsync(portA);
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, portA);
            var s = tcp.GetStream();
            var r = new ReplyReader(s);
            await r.ReadLineAsync();
            await s.WriteAsync("HELO load.test\r\n"u8.ToArray());
            await r.ReadLineAsync();
            for (var i = 0; i < Messages; i++)
            {
                await s.WriteAsync(Encoding.ASCII.GetBytes($"MAIL FROM:<s@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\n"));
                for (var k = 0; k < 3; k++)
                    await r.ReadLineAsync();
                await s.WriteAsync(Encoding.ASCII.GetBytes($"X-Token: {i}\r\nSubject: t\r\n\r\nbody\r\n.\r\n"));
                Assert.StartsWith("250 2.0.0 Ok: queued as", await r.ReadLineAsync());
            }
            filling.Kill();
            await filling.WaitForExitAsync();
        }
        // Node b: a copy of node a's data folder (so the same queue ids and accounts), the mail store shared.
        var dataB = _second.Combine("data");
        CopyTree(_m.Data, dataB);
        Directory.Delete(Path.Combine(dataB, "domains"), recursive: true);
        var portB = ServerProcesses.FreePort();
        using var a = _servers.Start(_m.Data, portA, "--Log:Level=Warning", "--Node:Id=node-a");
        using var b = _servers.Start(dataB, portB, "--Log:Level=Warning", "--Node:Id=node-b", $"--MailStore:Path={_m.MailStore}");
        for (var i = 0; i < 300 && Delivered().Length < 2 * Messages; i++)
            await Task.Delay(100);
        await Task.Delay(500); // a node that wrongly counted the other's file as done would add nothing later either

        var files = Delivered();
        Assert.True(files.Length == 2 * Messages, string.Join("\n", files.Select(Path.GetFileName)));
        Assert.Equal(Messages, files.Count(f => Path.GetFileName(f).Contains("Nnode-a.", StringComparison.Ordinal)));
        Assert.Equal(Messages, files.Count(f => Path.GetFileName(f).Contains("Nnode-b.", StringComparison.Ordinal)));
        var tokens = files.Select(f => File.ReadAllLines(f).First(l => l.StartsWith("X-Token: ", StringComparison.Ordinal))).ToList();
        foreach (var group in tokens.GroupBy(t => t))
            Assert.Equal(2, group.Count()); // each queued message once from each node
        Assert.Empty(Directory.GetFiles(Path.Combine(Maildir, "tmp")));
    }
}
