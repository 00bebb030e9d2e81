// The systemd side of the package: the unit (packaging/mailward.service) passes systemd-analyze
// verify and carries the settings docs/install.md promises, and `mailward serve` tells a real
// NOTIFY_SOCKET (a unix datagram socket, as systemd's) READY=1 once its listeners are bound and
// STOPPING=1 on SIGTERM (sd_notify(3), Type=notify).
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Support;

namespace Mailward.Tests.Packaging;

public sealed class SystemdUnitTests : IDisposable
{
    private readonly ServerProcesses _servers = new();
    private readonly TempFolder _temp = new();

    public void Dispose()
    {
        _servers.Dispose();
        _temp.Dispose();
    }

    /// <summary>packaging/ of the checkout these tests were built from.</summary>
    public static string PackagingFolder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Mailward.sln")))
                    return Path.Combine(dir.FullName, "packaging");
            throw new DirectoryNotFoundException("no Mailward.sln above " + AppContext.BaseDirectory);
        }
    }

    [Fact]
    public void The_unit_runs_as_its_own_user_with_one_capability_and_a_read_only_system()
    {
        var unit = File.ReadAllLines(Path.Combine(PackagingFolder, "mailward.service"));
        foreach (var line in new[]
        {
            "Type=notify", "User=mailward", "Group=mailward", "StateDirectory=mailward", "StateDirectoryMode=0711",
            "ExecStart=/usr/local/lib/mailward/mailward --data /var/lib/mailward serve", "ExecReload=/bin/kill -HUP $MAINPID",
            "Restart=on-failure", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
            "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
        })
            Assert.Contains(line, unit);
        // The server's own graceful stop (30 s for sessions) fits in the time systemd gives it.
        Assert.Contains("TimeoutStopSec=45s", unit);
        Assert.DoesNotContain(unit, l => l.StartsWith("MemoryDenyWriteExecute=", StringComparison.Ordinal));
    }

    [FactWhenInstalled("systemd-analyze", "systemd")]
    public async Task Systemd_analyze_verifies_the_unit_that_install_writes()
    {
        // The unit as `mailward install` writes it, pointing at this build's mailward (verify checks
        // that ExecStart's program exists and is executable).
        var prefix = _temp.Combine("root");
        var (code, output) = await RunMailwardAsync("install", "--write", "--prefix", prefix, "--libdir", AppContext.BaseDirectory.TrimEnd('/'));
        Assert.True(code is 0 or 5, output); // 5: no mailward user on this machine, or foreign links (none here)
        var unit = Path.Combine(prefix, "etc/systemd/system/mailward.service");
        Assert.Contains($"ExecStart={AppContext.BaseDirectory.TrimEnd('/')}/mailward --data /var/lib/mailward serve", File.ReadAllText(unit));
        using var p = Process.Start(new ProcessStartInfo("systemd-analyze", ["verify", unit])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var err = await p.StandardError.ReadToEndAsync();
        var stdout = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"systemd-analyze verify exit {p.ExitCode}: {stdout} {err}");
        Assert.DoesNotContain("mailward.service:", err); // verify's complaints about the unit itself name it
    }

    [Fact]
    public async Task Serve_sends_READY_after_its_listeners_are_bound_and_STOPPING_on_SIGTERM()
    {
        using var m = new MailwardRunner();
        (await m.Run("vadddomain", "hosted.test", "pw")).Ok();
        var path = _temp.Combine("notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(path));
        _servers.Environment["NOTIFY_SOCKET"] = path;
        var port = ServerProcesses.FreePort();
        using var server = _servers.Start(m.Data, port);

        var first = await ReceiveAsync(notify, TimeSpan.FromSeconds(90));
        Assert.Equal("READY=1", first);
        // Ready means ready: the SMTP listener answers at once, no retry.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            var greeting = new byte[256];
            var n = await client.GetStream().ReadAsync(greeting);
            Assert.StartsWith("220 ", Encoding.ASCII.GetString(greeting, 0, n), StringComparison.Ordinal);
        }

        using (var term = Process.Start("kill", ["-TERM", server.Id.ToString()]))
            await term.WaitForExitAsync();
        Assert.Equal("STOPPING=1", await ReceiveAsync(notify, TimeSpan.FromSeconds(30)));
        await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, server.ExitCode);
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        return Encoding.UTF8.GetString(buffer, 0, n).TrimEnd('\n');
    }

    /// <summary>The built executable, as an admin runs it.</summary>
    public static async Task<(int Code, string Output)> RunMailwardAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "mailward"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + stderr);
    }
}
