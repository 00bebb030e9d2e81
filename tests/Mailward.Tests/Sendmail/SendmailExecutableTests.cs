// `mailward sendmail` as programs run it: the real executable (also through a link named sendmail)
// against a real `mailward serve` child, a real Maildir and a real receiving SMTP server; with the
// server stopped, the pickup folder and its crash states (docs/pickup-format.md).
using System.Diagnostics;
using System.Text;
using Mailward.Core.Sendmail;
using Mailward.Tests.Support;

namespace Mailward.Tests.Sendmail;

public sealed class SendmailExecutableTests : IAsyncLifetime
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();
    private readonly TempFolder _bin = new();
    private TestMta _mta = null!;
    private Process? _server;

    private static string AppHost => Path.Combine(AppContext.BaseDirectory, "mailward");
    private string JoeNew => Path.Combine(_m.MailStore, "hosted.test", "joe", "Maildir", "new");
    private PickupFolder Pickup => PickupFolder.In(_m.Data);

    public async Task InitializeAsync()
    {
        _mta = new TestMta();
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "joe@hosted.test", "pw")).Ok();
    }

    public async Task DisposeAsync()
    {
        _servers.Dispose();
        await _mta.DisposeAsync();
        _bin.Dispose();
        _m.Dispose();
    }

    private async Task StartServerAsync(params string[] settings)
    {
        var port = ServerProcesses.FreePort();
        _server = _servers.Start(_m.Data, port, ["--Delivery:Enabled=true", $"--Remote:SmartHost={_mta.Endpoint}", "--Sendmail:PickupScanSeconds=1",
            "--Sendmail:DefaultDomain=hosted.test", .. settings]);
        await ServerProcesses.WaitListeningAsync(port);
        await WaitForAsync(() => _servers.Output.Any(l => l.Contains("mailward ready", StringComparison.Ordinal)), "the server's ready line");
    }

    private async Task StopServerAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _server!.Id.ToString()]))
            await kill.WaitForExitAsync();
        await _server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _server.Dispose();
        _server = null;
    }

    private async Task KillServerAsync()
    {
        _server!.Kill();
        await _server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _server.Dispose();
        _server = null;
    }

    /// <summary>Runs sendmail as a program would: the executable (or a link to it), a message on stdin.</summary>
    private async Task<(int Code, string Out, string Err)> Sendmail(string stdin, string[] args, string program = "", params string[] settings)
    {
        var psi = new ProcessStartInfo(program.Length > 0 ? program : AppHost)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The same names the server is started with (mailward.json would hold them in production).
        settings = ["--Hostname=mail.test", "--Sendmail:DefaultDomain=hosted.test", .. settings];
        string[] all = program.Length > 0 ? [.. settings, .. args] : [.. settings, "sendmail", .. args];
        foreach (var a in all)
            psi.ArgumentList.Add(a);
        psi.Environment["MAILWARD_DATA"] = _m.Data; // what an admin sets for the web server; no --data on a PHP command line
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(stdin));
        p.StandardInput.Close();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout, await stderr);
    }

    private static async Task WaitForAsync(Func<bool> condition, string what, int seconds = 30)
    {
        for (var i = 0; i < seconds * 20 && !condition(); i++)
            await Task.Delay(50);
        Assert.True(condition(), $"timed out waiting for {what}");
    }

    private string[] JoeMessages() => Directory.Exists(JoeNew) ? Directory.GetFiles(JoeNew).Select(File.ReadAllText).ToArray() : [];

    private const string PhpMessage = "To: joe@hosted.test, far@remote.test\nSubject: contact form\nX-Mailer: PHP/8.3\n\nHello from the website.\n";

    [Fact]
    public async Task Php_style_sendmail_t_i_reaches_a_local_mailbox_and_a_remote_sink()
    {
        await StartServerAsync();
        var link = _bin.Combine("sendmail");
        File.CreateSymbolicLink(link, AppHost);
        var r = await Sendmail(PhpMessage, ["-t", "-i"], link);
        Assert.True(r.Code == 0, r.Err);
        await WaitForAsync(() => JoeMessages().Length == 1 && _mta.Received.Count == 1, "local and remote delivery");
        var local = JoeMessages()[0];
        Assert.Contains("Subject: contact form", local);
        Assert.Contains("From: root@hosted.test", local); // completed for a local sender
        Assert.Matches(@"Date: \w{3}, \d\d \w{3} \d{4}", local);
        Assert.Matches(@"Message-ID: <[0-9A-Z]{26}@mail\.test>", local);
        Assert.Matches(@"Received: from local \(uid 0, root\)\s+by mail\.test \(Mailward\) with local id", local);
        var remote = _mta.Received.Single();
        Assert.Equal("root@hosted.test", remote.Sender);
        Assert.Equal(["far@remote.test"], remote.Recipients);
        Assert.Contains("Hello from the website.", Encoding.UTF8.GetString(remote.Data));
    }

    [Fact]
    public async Task Sender_option_is_honoured_only_for_trusted_users()
    {
        await StartServerAsync("--Sendmail:TrustedUsers=daemon"); // root is not trusted here
        var r = await Sendmail("Subject: one\n\nx\n", ["-f", "boss@hosted.test", "far@remote.test"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("may not set the sender", r.Err);
        await WaitForAsync(() => _mta.Received.Count == 1, "the first message");
        Assert.Equal("root@hosted.test", _mta.Received.Single().Sender);
        await StopServerAsync();

        await StartServerAsync(); // default: root and the server's own user are trusted
        r = await Sendmail("Subject: two\n\nx\n", ["-fboss@hosted.test", "-F", "The Boss", "far@remote.test"]);
        Assert.True(r.Code == 0, r.Err);
        await WaitForAsync(() => _mta.Received.Count == 2, "the second message");
        var second = _mta.Received.Last();
        Assert.Equal("boss@hosted.test", second.Sender);
        Assert.Contains("From: The Boss <boss@hosted.test>", Encoding.UTF8.GetString(second.Data));
    }

    [Fact]
    public async Task Stopped_server_delivers_the_pickup_message_once_at_start()
    {
        var r = await Sendmail("Subject: while down\n\nwaiting\n.\nnot part of it\n", ["joe"]);
        Assert.True(r.Code == 0, r.Err);
        // On disk, complete and readable, when sendmail exited 0.
        var waiting = Pickup.Waiting();
        var name = Assert.Single(waiting);
        var (request, damage) = Pickup.Read(name, 1 << 30);
        Assert.Null(damage);
        Assert.Equal(["joe"], request!.Recipients);
        Assert.DoesNotContain("not part of it", Encoding.UTF8.GetString(request.Body)); // a lone dot ended it (no -i)
        Assert.Empty(JoeMessages());

        await StartServerAsync();
        await WaitForAsync(() => JoeMessages().Length == 1, "the pickup message");
        Assert.Empty(Pickup.Waiting());
        await StopServerAsync();
        await StartServerAsync();
        await Task.Delay(1500); // more than a scan
        Assert.Single(JoeMessages());
    }

    [Fact]
    public async Task Server_killed_during_drain_delivers_each_message_once()
    {
        Pickup.Create();
        const int count = 40;
        for (var i = 0; i < count; i++)
            Pickup.Write(new SendmailRequest(SendmailRequest.NewId(DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, 0, "root", SendmailFlags.None, "", "",
                ["joe@hosted.test"], Encoding.ASCII.GetBytes($"Subject: drained {i:D3}\n\nbody {i}\n")));
        await StartServerAsyncNoWait();
        await WaitForAsync(() => _servers.Output.Any(l => l.Contains("pickup ", StringComparison.Ordinal) && l.Contains("queued as", StringComparison.Ordinal)),
            "the drain to begin");
        await KillServerAsync();
        await StartServerAsync();
        await WaitForAsync(() => JoeMessages().Length >= count && Pickup.Waiting().Count == 0, "every pickup message");
        await Task.Delay(1500);
        var subjects = JoeMessages().Select(m => m.Split('\n').First(l => l.StartsWith("Subject: ", StringComparison.Ordinal)).Trim()).ToList();
        Assert.Equal(count, subjects.Count);
        Assert.Equal(count, subjects.Distinct().Count());
    }

    private async Task StartServerAsyncNoWait()
    {
        _server = _servers.Start(_m.Data, ServerProcesses.FreePort(), "--Delivery:Enabled=true", "--Sendmail:PickupScanSeconds=1",
            "--Sendmail:DefaultDomain=hosted.test");
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_pickup_file_already_queued_is_not_queued_again()
    {
        // The crash state between the commit and the unlink: the queue holds the message and the file is back.
        Pickup.Create();
        var request = new SendmailRequest(SendmailRequest.NewId(DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, 0, "root", SendmailFlags.None, "", "",
            ["joe@hosted.test"], "Subject: once\n\nonly one copy\n"u8.ToArray());
        var path = Pickup.Write(request);
        var bytes = await File.ReadAllBytesAsync(path);
        await StartServerAsync("--Delivery:Enabled=false");
        await WaitForAsync(() => Pickup.Waiting().Count == 0, "the drain");
        await StopServerAsync();
        await File.WriteAllBytesAsync(path, bytes);

        await StartServerAsync();
        await WaitForAsync(() => JoeMessages().Length == 1 && Pickup.Waiting().Count == 0, "delivery");
        await Task.Delay(1500);
        Assert.Single(JoeMessages());
        Assert.Contains(_servers.Output, l => l.Contains("queued before a restart", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_torn_pickup_file_is_kept_aside_and_not_delivered()
    {
        Pickup.Create();
        SendmailRequest Make(string subject) => new(SendmailRequest.NewId(DateTimeOffset.UtcNow), DateTimeOffset.UtcNow, 0, "root", SendmailFlags.None, "", "",
            ["joe@hosted.test"], Encoding.ASCII.GetBytes($"Subject: {subject}\n\nbody\n"));
        var torn = Make("torn");
        var noEnd = Make("no end marker");
        var good = Make("good");
        await File.WriteAllBytesAsync(Path.Combine(Pickup.New, torn.Id), PickupRecord.Write(torn)[..40]);
        await File.WriteAllBytesAsync(Path.Combine(Pickup.New, noEnd.Id), PickupRecord.Write(noEnd)[..^4]);
        await File.WriteAllBytesAsync(Path.Combine(Pickup.Tmp, Make("tmp").Id), PickupRecord.Write(Make("tmp"))); // never renamed: sendmail did not exit 0
        Pickup.Write(good);

        await StartServerAsync();
        await WaitForAsync(() => JoeMessages().Length == 1, "the good message");
        await Task.Delay(1500);
        Assert.Contains("Subject: good", Assert.Single(JoeMessages()));
        Assert.True(File.Exists(Path.Combine(Pickup.Corrupt, torn.Id)));
        Assert.True(File.Exists(Path.Combine(Pickup.Corrupt, noEnd.Id)));
        Assert.Contains("no end marker", await File.ReadAllTextAsync(Path.Combine(Pickup.Corrupt, "log")));
        Assert.Empty(Pickup.Waiting());
        Assert.Contains(_servers.Output, l => l.Contains("damaged", StringComparison.Ordinal) && l.Contains(torn.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Exit_codes_are_sendmails_with_and_without_a_server()
    {
        foreach (var running in new[] { false, true })
        {
            if (running)
                await StartServerAsync();
            Assert.Equal(SendmailExit.NoUser, (await Sendmail("Subject: s\n\n", ["bad address@@"])).Code);
            Assert.Equal(SendmailExit.NoUser, (await Sendmail("Subject: s\n\n", ["nobody-here@hosted.test"])).Code);
            Assert.Equal(SendmailExit.Usage, (await Sendmail("Subject: s\n\n", [])).Code);
            Assert.Equal(SendmailExit.Usage, (await Sendmail("Subject: s\n\n", ["-Z", "joe"])).Code);
            Assert.Equal(SendmailExit.DataError, (await Sendmail("To: \"unclosed <a@b\n\n", ["-t"])).Code);
            Assert.Empty(Pickup.Waiting());
        }
        Assert.Empty(JoeMessages());
        await StopServerAsync();

        // A full disk: the free-space guard's floor above what any disk here has free.
        var full = await Sendmail("Subject: s\n\n", ["joe"], "", "--Queue:MinFreeBytes=9000000000000000");
        Assert.True(full.Code == SendmailExit.TempFail, full.Err);
        Assert.Empty(Pickup.Waiting());
        await StartServerAsync("--Queue:MinFreeBytes=9000000000000000");
        full = await Sendmail("Subject: s\n\n", ["joe"]);
        Assert.True(full.Code == SendmailExit.TempFail, full.Err);
        Assert.Contains("free space", full.Err);
        await StopServerAsync();

        await StartServerAsync("--Sendmail:AllowedUsers=daemon");
        Assert.Equal(SendmailExit.NoPermission, (await Sendmail("Subject: s\n\n", ["joe"])).Code);
    }

    [Fact]
    public async Task Dash_bs_speaks_SMTP_through_the_server_and_dash_bp_lists_the_queue()
    {
        await StartServerAsync("--Delivery:Enabled=false");
        var smtp = await Sendmail("EHLO local\r\nMAIL FROM:<root@hosted.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\nSubject: bs\r\n\r\nvia -bs\r\n.\r\nQUIT\r\n", ["-bs"]);
        Assert.True(smtp.Code == 0, smtp.Err);
        Assert.StartsWith("220 mail.test ESMTP", smtp.Out);
        var queued = System.Text.RegularExpressions.Regex.Match(smtp.Out, "250 2.0.0 Ok: queued as ([0-9A-F]+)");
        Assert.True(queued.Success, smtp.Out);
        Assert.Contains("221 ", smtp.Out);
        var list = await Sendmail("", ["-bp"]);
        Assert.Equal(0, list.Code);
        Assert.Contains("#" + queued.Groups[1].Value, list.Out);
        Assert.Contains("joe@hosted.test", list.Out);
    }
}
