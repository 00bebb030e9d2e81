// The `mailward serve` child processes a test starts (crash, signal and hostile-input tests), killed
// at the end even when the test failed half-way (by then its Process objects are disposed, so they
// are remembered by id).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Mailward.Tests.Support;

public sealed class ServerProcesses : IDisposable
{
    private readonly List<int> _started = [];

    /// <summary>Variables the next children get beside the test's own (NOTIFY_SOCKET, settings).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>A program that runs mailward in its own process (it execs it, so the pid stays), such as nohup; null: none.</summary>
    public string? Launcher { get; set; }

    /// <summary>What the children printed (stdout and stderr), in arrival order.</summary>
    public ConcurrentQueue<string> Output { get; } = new();

    /// <summary>
    /// `mailward serve` on 127.0.0.1 with SMTP on <paramref name="smtpPort"/> and the other listeners
    /// off; <paramref name="settings"/> come after the defaults, so they may turn one back on.
    /// </summary>
    public Process Start(string data, int smtpPort, params string[] settings)
    {
        var program = Path.Combine(AppContext.BaseDirectory, "mailward");
        var psi = new ProcessStartInfo(Launcher ?? program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args = ["--data", data, "--Listen:Address=127.0.0.1", $"--Smtp:Port={smtpPort}", "--Pop3:Port=0", "--Pop3s:Port=0", "--Imap:Port=0", "--Imaps:Port=0", "--Admin:Port=0",
            "--Submission:Port=0", "--Smtps:Port=0", "--Hostname=mail.test", "--Spf:Mode=off", "--Dkim:Verify=false", "--Dmarc:Mode=off", .. settings, "serve", "--allow-root"]; // SPF and DKIM off: no DNS off loopback
        if (Launcher is not null)
            psi.ArgumentList.Add(program);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        // A killed runtime cannot remove its diagnostic pipes from /tmp; these children need none.
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        foreach (var (name, value) in Environment)
            psi.Environment[name] = value;
        var p = Process.Start(psi)!;
        _started.Add(p.Id);
        p.OutputDataReceived += (_, e) => Keep(e.Data);
        p.ErrorDataReceived += (_, e) => Keep(e.Data);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private void Keep(string? line)
    {
        if (line is not null && Output.Count < 10_000)
            Output.Enqueue(line);
    }

    /// <summary>A child's resident memory (VmRSS), for tests that bound what hostile input costs.</summary>
    public static long ResidentKiB(Process p) =>
        long.Parse(File.ReadAllLines($"/proc/{p.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    // Where the next FreePort looks: below the kernel's ephemeral range (32768–60999 on Linux), from a
    // random start, so one test process never hands out a port twice.
    private static int _nextPort = Random.Shared.Next(0, PortCount);
    private const int FirstPort = 10000, PortCount = 32768 - FirstPort;

    /// <summary>
    /// A loopback port free now, for a child (mailward, Dovecot) to bind. Not bind(0)'s choice: that
    /// port is in the ephemeral range, where any outgoing connection of the suite may take it as its
    /// own before the child binds it (the clean-clone run of 2026-12-01: a server never listened).
    /// </summary>
    public static int FreePort()
    {
        for (var tries = 0; tries < PortCount; tries++)
        {
            var port = FirstPort + (int)((uint)Interlocked.Increment(ref _nextPort) % PortCount);
            try
            {
                using var l = new TcpListener(IPAddress.Any, port); // every IPv4 address: the tests' strangers use 127.0.0.9 and the like
                l.Start();
                return port;
            }
            catch (SocketException)
            {
                // taken by someone else: the next one
            }
        }
        throw new InvalidOperationException("no free port below the ephemeral range");
    }

    public static async Task WaitListeningAsync(int port)
    {
        // Up to 30 s: with the whole suite running on two cores, a server's start once took more than
        // the 10 s this waited before (the clean-clone run of 2026-11-30 03:44).
        for (var i = 0; i < 600; i++)
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
        throw new TimeoutException($"server did not start listening on port {port}");
    }

    /// <summary>
    /// Waits for <paramref name="server"/> to listen on each of <paramref name="ports"/>; if it exits
    /// first or never listens, the exception carries the end of what it printed.
    /// </summary>
    public async Task WaitListeningAsync(Process server, params int[] ports)
    {
        foreach (var port in ports)
        {
            var waiting = WaitListeningAsync(port);
            while (!waiting.IsCompleted && !server.HasExited)
                await Task.WhenAny(waiting, Task.Delay(100));
            if (!waiting.IsCompletedSuccessfully)
            {
                var why = server.HasExited ? $"the server exited ({server.ExitCode}) before it listened on port {port}" : $"the server did not listen on port {port}";
                throw new TimeoutException($"{why}; it printed:\n{string.Join('\n', Output.TakeLast(30))}");
            }
        }
    }

    public void Dispose()
    {
        foreach (var pid in _started)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                if (!p.HasExited && p.ProcessName == "mailward")
                    p.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // gone already
            }
        }
    }
}
