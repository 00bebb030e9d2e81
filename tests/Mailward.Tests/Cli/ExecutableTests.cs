// The real mailward program in a child process: help, exit codes, the environment layer of
// settings, a link named after a vpopmail tool, and serve's start and graceful stop on SIGTERM.
using System.Diagnostics;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class ExecutableTests : IDisposable
{
    private readonly TempFolder _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static string AppHost => Path.Combine(AppContext.BaseDirectory, "mailward");

    private static ProcessStartInfo Start(string file, string data, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--data");
        psi.ArgumentList.Add(data);
        foreach (var a in MailwardRunner.FastHashes.Concat(args))
            psi.ArgumentList.Add(a);
        psi.Environment.Remove("MAILWARD_DATA");
        return psi;
    }

    private static async Task<(int Code, string Out, string Err)> Run(ProcessStartInfo psi)
    {
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Help_lists_the_command_families_and_the_vpopmail_names()
    {
        var (code, stdout, _) = await Run(Start(AppHost, _tmp.Combine("d"), "--help"));
        Assert.Equal(0, code);
        foreach (var word in new[] { "serve", "domain", "user", "alias", "relay", "ipmap", "vadddomain", "vmoddomlimits" })
            Assert.Contains(word, stdout);
    }

    [Fact]
    public async Task Exit_status_tells_errors_apart()
    {
        var data = _tmp.Combine("d");
        Assert.Equal(0, (await Run(Start(AppHost, data, "vadddomain", "exe.test", "pw"))).Code);
        var again = await Run(Start(AppHost, data, "vadddomain", "exe.test", "pw"));
        Assert.Equal(10, again.Code);
        Assert.Contains("domain already exists", again.Err);
        Assert.Equal(13, (await Run(Start(AppHost, data, "vdeluser", "ghost@exe.test"))).Code);
    }

    [Fact]
    public async Task Environment_overrides_the_file_and_the_command_line_overrides_both()
    {
        var data = _tmp.Combine("d");
        var psi = Start(AppHost, data, "settings");
        psi.Environment["MAILWARD_Hostname"] = "from-env.test";
        Assert.Contains("Hostname=from-env.test", (await Run(psi)).Out);
        psi = Start(AppHost, data, "--Hostname=from-cli.test", "settings");
        psi.Environment["MAILWARD_Hostname"] = "from-env.test";
        Assert.Contains("Hostname=from-cli.test", (await Run(psi)).Out);
    }

    [Fact]
    public async Task Data_folder_comes_from_MAILWARD_DATA_when_no_option_is_given()
    {
        var data = _tmp.Combine("from-env");
        var psi = new ProcessStartInfo(AppHost) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false, WorkingDirectory = _tmp.Path };
        psi.ArgumentList.Add("domain");
        psi.ArgumentList.Add("list");
        psi.Environment["MAILWARD_DATA"] = data;
        Assert.Equal(0, (await Run(psi)).Code);
        Assert.True(File.Exists(Path.Combine(data, "mailward.json")));

        psi.Environment.Remove("MAILWARD_DATA");
        Assert.Equal(0, (await Run(psi)).Code);
        Assert.True(File.Exists(Path.Combine(_tmp.Path, "mailward-data", "mailward.json")));
    }

    [Fact]
    public async Task A_link_named_vadduser_is_vadduser()
    {
        var data = _tmp.Combine("d");
        Assert.Equal(0, (await Run(Start(AppHost, data, "vadddomain", "link.test", "pw"))).Code);
        var link = _tmp.Combine("vadduser");
        File.CreateSymbolicLink(link, AppHost);
        var r = await Run(Start(link, data, "-c", "Linked", "joe@link.test", "pw"));
        Assert.True(r.Code == 0, r.Err);
        var info = await Run(Start(AppHost, data, "vuserinfo", "-c", "joe@link.test"));
        Assert.Equal("Linked", info.Out.Trim());
    }

    [Fact]
    public async Task Serve_creates_the_data_folder_logs_ready_and_stops_cleanly_on_SIGTERM()
    {
        var data = _tmp.Combine("served");
        using var p = Process.Start(Start(AppHost, data, "--Listen:Address=127.0.0.1", "--Smtp:Port=0", "--Pop3:Port=0", "--Pop3s:Port=0", "--Imap:Port=0", "--Imaps:Port=0", "--Admin:Port=0", "--Submission:Port=0", "--Smtps:Port=0", "serve", "--allow-root"))!;
        var ready = new TaskCompletionSource();
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            lines.Enqueue(e.Data);
            if (e.Data.Contains("mailward ready", StringComparison.Ordinal))
                ready.TrySetResult();
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(File.Exists(Path.Combine(data, "mailward.json")));
            Assert.True(File.Exists(Path.Combine(data, "accounts.db")));
            Assert.True(Directory.Exists(Path.Combine(data, "domains")));

            using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString()]))
                await kill.WaitForExitAsync();
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, p.ExitCode);
            Assert.Contains(lines, l => l.Contains("mailward stopping", StringComparison.Ordinal));
        }
        finally
        {
            if (!p.HasExited)
                p.Kill();
        }
    }
}
