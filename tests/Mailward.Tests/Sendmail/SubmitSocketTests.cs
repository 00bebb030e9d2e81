// The submission socket (docs/pickup-format.md, "The submission socket") as a website's user meets it:
// the real `mailward sendmail` run as the unprivileged user nobody against a real `mailward serve`
// whose data folder is 0711 (as installed), so nobody reaches public/submit.sock and nothing else;
// and the socket's refusals (queue commands, a user over the per-user limit) over a real connection.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mailward.Control;
using Mailward.Core.Sendmail;
using Mailward.Tests.Support;

namespace Mailward.Tests.Sendmail;

public sealed class SubmitSocketTests : IAsyncLifetime
{
    private readonly TempFolder _root = new();
    private readonly ServerProcesses _servers = new();
    private Process? _server;

    private string Data => _root.Combine("data");
    private string Socket => Path.Combine(Data, "public", "submit.sock");
    private string JoeNew => Path.Combine(Data, "domains", "hosted.test", "joe", "Maildir", "new");
    private static string AppHost => Path.Combine(AppContext.BaseDirectory, "mailward");

    public async Task InitializeAsync()
    {
        File.SetUnixFileMode(_root.Path, (UnixFileMode)0b111_101_101); // the temp folder above is no barrier
        (await Cli("vadddomain", "hosted.test", "pw")).Ok();
        (await Cli("vadduser", "joe@hosted.test", "pw")).Ok();
        File.SetUnixFileMode(Data, (UnixFileMode)0b111_001_001); // 0711, as `mailward install` and the unit make it
    }

    public Task DisposeAsync()
    {
        _servers.Dispose();
        _root.Dispose();
        return Task.CompletedTask;
    }

    private async Task<CliResult> Cli(params string[] args)
    {
        var r = await Program("root", "", ["--data", Data, .. MailwardRunner.FastHashes, .. args]);
        return new CliResult(r.Code, r.Out, r.Err);
    }

    private async Task StartServerAsync(params string[] settings)
    {
        var port = ServerProcesses.FreePort();
        _server = _servers.Start(Data, port, ["--Sendmail:DefaultDomain=hosted.test", .. settings]);
        for (var i = 0; i < 1200 && !_servers.Output.Any(l => l.Contains("mailward ready", StringComparison.Ordinal)); i++)
            await Task.Delay(50);
        Assert.True(_servers.Output.Any(l => l.Contains("mailward ready", StringComparison.Ordinal)), string.Join("\n", _servers.Output));
    }

    /// <summary>The real executable as <paramref name="user"/> (runuser), a message on standard input.</summary>
    private static Task<ProgramResult> Program(string user, string stdin, string[] args) =>
        ExternalProgram.RunAsync("runuser", ["-u", user, "--", AppHost, .. args], stdin, new Dictionary<string, string> { ["DOTNET_EnableDiagnostics"] = "0" });

    private Task<ProgramResult> SendmailAsNobody(string stdin, params string[] args) =>
        Program("nobody", stdin, ["--data", Data, "sendmail", .. args]);

    private string[] JoeMessages() => Directory.Exists(JoeNew) ? Directory.GetFiles(JoeNew).Select(File.ReadAllText).ToArray() : [];

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 600 && !condition(); i++)
            await Task.Delay(50);
        Assert.True(condition(), $"timed out waiting for {what}");
    }

    [FactWhenRoot]
    public async Task A_websites_user_sends_through_the_submission_socket_and_reads_nothing_else()
    {
        await StartServerAsync();
        Assert.Equal((UnixFileMode)0b110_110_110, File.GetUnixFileMode(Socket));

        var r = await SendmailAsNobody("To: joe@hosted.test\nSubject: contact form\n\nHello from the website.\n", "-t", "-i", "-f", "ceo@hosted.test");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("may not set the sender <ceo@hosted.test>", r.Err); // not trusted: -f replaced
        await WaitForAsync(() => JoeMessages().Length == 1, "the delivery");
        var message = JoeMessages()[0];
        Assert.Contains("Return-Path: <nobody@hosted.test>", message);
        Assert.Contains("From: nobody@hosted.test", message);
        Assert.Matches(@"Received: from local \(uid 65534, nobody\)", message); // the kernel's name for the caller

        // The data folder stays closed to the same user: no listing, no settings, no hashes, no queue.
        foreach (var attempt in new[] { $"ls {Data}", $"cat {Data}/mailward.json", $"cat {Data}/accounts.db", $"ls {Data}/queue", $"ls {Data}/run" })
        {
            var (code, _, err) = await Shell("nobody", attempt);
            Assert.True(code != 0, $"nobody could: {attempt}");
            Assert.Contains("Permission denied", err);
        }
    }

    private static Task<ProgramResult> Shell(string user, string script) => ExternalProgram.RunAsync("runuser", ["-u", user, "--", "sh", "-c", script]);

    [FactWhenRoot]
    public async Task A_user_outside_AllowedUsers_gets_77_and_without_a_server_75()
    {
        await StartServerAsync("--Sendmail:AllowedUsers=root,www-data");
        var r = await SendmailAsNobody("Subject: x\n\nx\n", "joe@hosted.test");
        Assert.True(r.Code == SendmailExit.NoPermission, $"exit {r.Code}: {r.Err}");
        Assert.Contains("may not send mail (Sendmail:AllowedUsers)", r.Err);

        _server!.Kill();
        await _server.WaitForExitAsync();
        r = await SendmailAsNobody("Subject: x\n\nx\n", "joe@hosted.test");
        Assert.True(r.Code == SendmailExit.TempFail, $"exit {r.Code}: {r.Err}");
        Assert.Contains("no server answers", r.Err);
        Assert.Empty(JoeMessages());
    }

    /// <summary>One request on the submission socket, raw: the answer and the exit status it names.</summary>
    private async Task<ControlAnswer> AskRaw(string request)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(Socket));
        await using var stream = new NetworkStream(s);
        try
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request + "\n"));
            s.Shutdown(SocketShutdown.Send); // no record follows: a submission let in ends at once
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // Turned away before it read the request (over the limit): its answer is still there to read.
        }
        using var reader = new StreamReader(stream);
        return JsonSerializer.Deserialize<ControlAnswer>(await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30)), ControlChannel.Json)!;
    }

    /// <summary>A submission let in and held open: the request sent, the record begun and not finished.</summary>
    private async Task<Socket> HoldAsync()
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await s.ConnectAsync(new UnixDomainSocketEndPoint(Socket));
        await s.SendAsync("sendmail\nMWP1"u8.ToArray());
        return s;
    }

    [Fact]
    public async Task The_socket_takes_only_sendmail_and_only_a_few_open_submissions_per_user()
    {
        await StartServerAsync("--Sendmail:MaxConnectionsPerUser=2");
        foreach (var request in new[] { "queue-del ABC", "queue-status", "queue-flush", "smtp", "" })
        {
            var answer = await AskRaw(request);
            Assert.False(answer.Ok);
            Assert.Equal(SendmailExit.NoPermission, answer.ExitCode);
            Assert.Contains("only sendmail submissions", answer.Message);
        }

        // Two submissions held open (the request sent, the record not yet): the third is turned away at once.
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 2; i++)
                held.Add(await HoldAsync());
            // Handlers start in no set order: the third may get in before the second holder, which is then the one
            // turned away (its answer is there to read). Such a holder is replaced until both are inside the handler.
            ControlAnswer third = default!;
            for (var i = 0; i < 100; i++)
            {
                for (var h = 0; h < held.Count; h++)
                    if (held[h].Poll(0, SelectMode.SelectRead))
                    {
                        held[h].Dispose();
                        held[h] = await HoldAsync();
                    }
                third = await AskRaw("sendmail");
                if (third.Message.Contains("Sendmail:MaxConnectionsPerUser", StringComparison.Ordinal))
                    break;
                await Task.Delay(100);
            }
            Assert.False(third.Ok);
            Assert.Equal(SendmailExit.TempFail, third.ExitCode);
            Assert.Contains("Sendmail:MaxConnectionsPerUser", third.Message);
            Assert.All(held, s => Assert.False(s.Poll(0, SelectMode.SelectRead), "a holder was answered")); // still inside, unanswered
        }
        finally
        {
            foreach (var s in held)
                s.Dispose();
        }
        // Closed, they count no more: a whole submission goes through.
        var now = DateTimeOffset.UtcNow;
        var record = PickupRecord.Write(new SendmailRequest(SendmailRequest.NewId(now), now, 0, "root", SendmailFlags.None, "", "", ["joe@hosted.test"],
            "Subject: after\n\nx\n"u8.ToArray()));
        ControlAnswer? answer2 = null;
        for (var i = 0; i < 50 && answer2 is not { Ok: true }; i++)
        {
            answer2 = await ControlChannel.AskAtAsync(Socket, "sendmail", TimeSpan.FromSeconds(30), record);
            if (answer2 is not { Ok: true })
                await Task.Delay(100); // the held connections' handlers notice the close
        }
        Assert.True(answer2 is { Ok: true }, answer2?.Message);
        await WaitForAsync(() => JoeMessages().Length == 1, "the delivery");
    }
}
