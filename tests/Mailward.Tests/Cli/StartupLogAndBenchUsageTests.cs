// Polish a new user meets first (issue 17, item 7): the server's start-up log names each mail
// listener by its protocol (not Kestrel's "Now listening on: http://..."), and the benchmark
// program prints its usage for --help and for a bad option instead of an unhandled exception.
using System.Diagnostics;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class StartupLogAndBenchUsageTests : IDisposable
{
    private readonly TempFolder _tmp = new();
    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _tmp.Dispose();
    }

    [Fact]
    public async Task Serve_logs_each_listener_by_its_protocol_and_never_as_http()
    {
        var port = ServerProcesses.FreePort();
        using var p = _servers.Start(_tmp.Combine("d"), port, "--Pop3:Port=0");
        // The listener lines and "ready" come from different loggers: wait for both, not only "ready".
        for (var i = 0; i < 600 && !(_servers.Output.Any(l => l.Contains("mailward ready", StringComparison.Ordinal))
                 && _servers.Output.Any(l => l.Contains("POP3 listening on", StringComparison.Ordinal))
                 && _servers.Output.Any(l => l.Contains("SMTP listening on", StringComparison.Ordinal))); i++)
            await Task.Delay(50);
        Assert.Contains(_servers.Output, l => l.Contains("mailward ready", StringComparison.Ordinal));
        var log = string.Join("\n", _servers.Output);
        Assert.Contains($"SMTP listening on 127.0.0.1:{port}", log);
        Assert.Matches(@"POP3 listening on 127\.0\.0\.1:[1-9][0-9]*", log); // port 0 asked: the real one is named
        Assert.DoesNotContain("Now listening on", log);
        Assert.DoesNotContain("http://", log);
    }

    private static async Task<(int Code, string Out, string Err)> Bench(params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "Mailward.Bench"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout, await stderr);
    }

    [Theory]
    [InlineData("smtp")]
    [InlineData("pop3")]
    [InlineData("imap")]
    [InlineData("accounts")]
    public async Task Bench_help_prints_the_usage_and_runs_nothing(string command)
    {
        var (code, stdout, stderr) = await Bench(command, "--help");
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        Assert.StartsWith($"usage: Mailward.Bench {command}", stdout);
        Assert.DoesNotContain("Unhandled exception", stderr);
    }

    [Fact]
    public async Task Bench_with_a_bad_option_says_what_is_wrong_with_the_usage()
    {
        var (code, _, stderr) = await Bench("smtp", "--port", "many");
        Assert.Equal(1, code);
        Assert.Contains("Mailward.Bench smtp:", stderr);
        Assert.Contains("usage: Mailward.Bench smtp", stderr);
        Assert.DoesNotContain("Unhandled exception", stderr);
        var none = await Bench("--help");
        Assert.Equal(0, none.Code);
        Assert.Contains("Mailward.Bench imap", none.Out);
    }
}
