// The real `mailward serve` and the files it leaves for local users to find: the data folder, the
// account store (password hashes), the queue and its lock, the TLS key, all owner-only; modes
// widened by hand (or by an older version) are narrowed at the next start with a warning (the data
// folder itself to 0711, which lets local users reach only the submission socket). And
// serve refuses to run as root without --allow-root.
using System.Diagnostics;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class FileModeTests : IDisposable
{
    private readonly TempFolder _tmp = new();
    private readonly ServerProcesses _servers = new();

    private const UnixFileMode Folder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode File600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Wide755 = (UnixFileMode)0b111_101_101;
    private const UnixFileMode Wide644 = (UnixFileMode)0b110_100_100;
    private const UnixFileMode Traverse = UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private static readonly string[] Folders = ["", "queue", "tls", "domains", "run"];
    private static readonly string[] Files = ["accounts.db", "accounts.db-wal", "mailward.json", "queue/lock", "tls/selfsigned.key"];

    private async Task<Process> StartReadyAsync(string data)
    {
        var port = ServerProcesses.FreePort();
        var seen = _servers.Output.Count;
        var p = _servers.Start(data, port);
        // "ready" comes once every listener is bound; a busy machine may need a while for the first start's TLS key.
        for (var i = 0; i < 1200 && !p.HasExited; i++)
        {
            if (_servers.Output.Skip(seen).Any(l => l.Contains("mailward ready", StringComparison.Ordinal)))
                return p;
            await Task.Delay(50);
        }
        Assert.Fail("serve did not get ready: " + string.Join("\n", _servers.Output.Skip(seen)));
        return p;
    }

    private static UnixFileMode ModeOf(string path) => Directory.Exists(path) ? new DirectoryInfo(path).UnixFileMode : File.GetUnixFileMode(path);

    [Fact]
    public async Task Serve_keeps_its_data_owner_only_and_narrows_wider_modes_at_start_with_a_warning()
    {
        var data = _tmp.Combine("data");
        var first = await StartReadyAsync(data);
        foreach (var f in Folders)
            Assert.True(ModeOf(Path.Combine(data, f)) == Folder, $"{f}/ is {ModeOf(Path.Combine(data, f))}");
        foreach (var f in Files)
            Assert.True(ModeOf(Path.Combine(data, f)) == File600, $"{f} is {ModeOf(Path.Combine(data, f))}");
        Assert.DoesNotContain(_servers.Output, l => l.Contains("file modes:", StringComparison.Ordinal));
        // The one door for other local users: public/ 0755 holding the submission socket, 0666.
        Assert.Equal(Wide755, ModeOf(Path.Combine(data, "public")));
        Assert.Equal((UnixFileMode)0b110_110_110, File.GetUnixFileMode(Path.Combine(data, "public", "submit.sock")));
        first.Kill();
        await first.WaitForExitAsync();

        // What an older version left, or an admin's chmod: readable by every local user.
        foreach (var f in Folders)
            File.SetUnixFileMode(Path.Combine(data, f), Wide755);
        foreach (var f in Files)
            File.SetUnixFileMode(Path.Combine(data, f), Wide644);
        await StartReadyAsync(data);
        // The data folder keeps only what the submission socket needs: passing through (0711), never listing.
        Assert.Equal(Folder | Traverse, ModeOf(data));
        foreach (var f in Folders.Skip(1))
            Assert.Equal(Folder, ModeOf(Path.Combine(data, f)));
        foreach (var f in Files)
            Assert.Equal(File600, ModeOf(Path.Combine(data, f)));
        Assert.Contains(_servers.Output, l => l.Contains($"file modes: {data} had mode 0755, open to group or others; changed to 0711", StringComparison.Ordinal));
        Assert.Contains(_servers.Output, l => l.Contains($"file modes: {Path.Combine(data, "accounts.db")} had mode 0644", StringComparison.Ordinal));
        Assert.Contains(_servers.Output, l => l.Contains($"file modes: {Path.Combine(data, "queue", "lock")} had mode 0644", StringComparison.Ordinal));
        Assert.Contains(_servers.Output, l => l.Contains($"file modes: {Path.Combine(data, "tls", "selfsigned.key")} had mode 0644", StringComparison.Ordinal));
    }

    [FactWhenRoot]
    public async Task A_local_user_can_neither_read_the_password_hashes_nor_lock_the_queue()
    {
        var data = _tmp.Combine("data");
        File.SetUnixFileMode(_tmp.Path, (UnixFileMode)0b111_101_101); // the temp folder above is no barrier
        var server = await StartReadyAsync(data);
        server.Kill();
        await server.WaitForExitAsync();
        File.SetUnixFileMode(data, Folder | Traverse); // as installed: 0711, for the submission socket
        // What the audit did: read accounts.db, and take a shared lock on queue/lock so the next start fails.
        foreach (var attack in new[] { $"cat {data}/accounts.db > /dev/null", $"flock -s -n {data}/queue/lock true" })
        {
            var psi = new ProcessStartInfo("runuser") { RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-u", "nobody", "--", "sh", "-c", attack })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode != 0, $"nobody could: {attack}");
            Assert.Contains("Permission denied", err);
        }
    }

    [FactWhenRoot]
    public async Task Serve_refuses_to_run_as_root_without_allow_root()
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "mailward"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "--data", _tmp.Combine("data"), "--Listen:Address=127.0.0.1", "--Smtp:Port=0", "--Pop3:Port=0", "--Pop3s:Port=0", "--Imap:Port=0", "--Imaps:Port=0", "--Admin:Port=0", "--Submission:Port=0", "--Smtps:Port=0", "serve" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await p.WaitForExitAsync(cts.Token);
        Assert.Equal(22, p.ExitCode);
        Assert.Contains("refusing to serve as root", await err);
        Assert.Contains("--allow-root", await err);
    }

    public void Dispose()
    {
        _servers.Dispose();
        _tmp.Dispose();
    }
}
