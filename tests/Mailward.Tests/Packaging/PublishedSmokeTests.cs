// The published single file, installed by its own `mailward install --write` into a staging root
// and started the way packaging/mailward.service starts it (the unit's ExecStart, its data folder,
// its user: a throwaway system user when the tests run as root, as the unit's mailward; readiness
// over NOTIFY_SOCKET): mail in by SMTP (MailKit) and by the sendmail link (as root, and as the user
// nobody through the submission socket), out by POP3 (MailKit).
// The ports come from MAILWARD_* variables, as an admin's mailward.json would set them.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Core.Posix;
using Mailward.Tests.Support;
using MimeKit;
using Xunit.Abstractions;

namespace Mailward.Tests.Packaging;

public sealed class PublishedSmokeTests(PublishedProgram published, ITestOutputHelper output) : IClassFixture<PublishedProgram>, IDisposable
{
    private readonly TempFolder _temp = new();
    private string? _user;

    public void Dispose()
    {
        if (_user is not null)
            Run("userdel", [_user]);
        _temp.Dispose();
    }

    [Fact]
    public async Task The_published_file_started_as_the_unit_starts_it_takes_mail_by_SMTP_and_sendmail_and_serves_it_by_POP3()
    {
        output.WriteLine($"mailward: {published.How}");
        var root = _temp.Combine("root");
        File.SetUnixFileMode(_temp.Path, (UnixFileMode)0b111_101_101);

        // Installed by itself, from the publish folder, into a staging root.
        var (code, text) = Run(Path.Combine(published.Folder, "mailward"), ["install", "--write", "--prefix", root]);
        Assert.True(code == 0, text);
        var lib = Path.Combine(root, "usr/local/lib/mailward");
        Assert.True(File.Exists(Path.Combine(lib, "mailward")) && File.Exists(Path.Combine(lib, "libe_sqlite3.so")), text);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);

        // The unit's ExecStart, with the staging root in front of its paths.
        var unit = File.ReadAllLines(Path.Combine(root, "etc/systemd/system/mailward.service"));
        var execStart = unit.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..].Split(' ');
        Assert.Equal(["/usr/local/lib/mailward/mailward", "--data", "/var/lib/mailward", "serve"], execStart);
        var program = root + execStart[0];
        var data = root + execStart[2];
        Assert.Equal((UnixFileMode)0b111_001_001, File.GetUnixFileMode(data)); // 0711: through to public/submit.sock only

        // The unit's User=: as root, a throwaway system user owns the data folder and runs the server.
        string[] asUser = [];
        if (Libc.EffectiveUserId == 0)
        {
            _user = "mwsmoke" + Random.Shared.Next(10000, 99999).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var added = Run("useradd", ["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", _user]);
            Assert.True(added.Code == 0, added.Output);
            Assert.Equal(0, Run("chown", [$"{_user}:{_user}", data]).Code);
            asUser = ["setpriv", "--reuid", _user, "--regid", _user, "--init-groups", "--"];
        }
        var admin = RunAs(asUser, program, ["--data", data, "vadddomain", "hosted.test", "pw"]);
        Assert.True(admin.Code == 0, admin.Output);
        Assert.Equal(0, RunAs(asUser, program, ["--data", data, "vadduser", "joe@hosted.test", "secret"]).Code);

        var notifyPath = _temp.Combine("notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));
        File.SetUnixFileMode(notifyPath, (UnixFileMode)0b111_111_111); // as systemd's: any service may write
        int smtp = ServerProcesses.FreePort(), pop3 = ServerProcesses.FreePort();
        List<string> command = [.. asUser, program, .. execStart.Skip(1).Select(a => a == "/var/lib/mailward" ? data : a)];
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1))
            psi.ArgumentList.Add(a);
        psi.Environment["NOTIFY_SOCKET"] = notifyPath;
        foreach (var (name, value) in new Dictionary<string, string>
        {
            ["Listen__Address"] = "127.0.0.1",
            ["Hostname"] = "mail.test",
            ["Smtp__Port"] = $"{smtp}",
            ["Pop3__Port"] = $"{pop3}",
            ["Submission__Port"] = "0",
            ["Smtps__Port"] = "0",
            ["Pop3s__Port"] = "0",
            ["Imap__Port"] = "0",
            ["Imaps__Port"] = "0",
            ["Admin__Port"] = "0",
        })
            psi.Environment["MAILWARD_" + name] = value;
        using var server = Process.Start(psi)!;
        var log = new StringBuilder();
        server.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        server.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            var ready = new byte[256];
            using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
                Assert.Equal("READY=1", Encoding.ASCII.GetString(ready, 0, await notify.ReceiveAsync(ready, SocketFlags.None, wait.Token)));
            if (_user is not null)
                Assert.Contains(File.ReadAllLines($"/proc/{server.Id}/status"), l => l.StartsWith("Uid:", StringComparison.Ordinal) && !l.Contains("\t0\t", StringComparison.Ordinal));

            // SMTP in.
            using (var client = new SmtpClient())
            {
                await client.ConnectAsync("127.0.0.1", smtp, SecureSocketOptions.None);
                var message = new MimeMessage();
                message.From.Add(MailboxAddress.Parse("someone@remote.test"));
                message.To.Add(MailboxAddress.Parse("joe@hosted.test"));
                message.Subject = "by smtp";
                message.Body = new TextPart("plain") { Text = "hello from the smoke test" };
                await client.SendAsync(message);
                await client.DisconnectAsync(true);
            }
            // The sendmail link, as PHP calls it (root: a trusted user; the server's socket).
            var bin = _temp.Combine("bin");
            Directory.CreateDirectory(bin);
            File.CreateSymbolicLink(Path.Combine(bin, "sendmail"), program);
            var sent = Run(Path.Combine(bin, "sendmail"), ["-t", "-i"], "To: joe@hosted.test\nSubject: by sendmail\n\nhello\n", ("MAILWARD_DATA", data));
            Assert.True(sent.Code == 0, sent.Output);
            List<string> expected = ["by sendmail", "by smtp"];
            if (_user is not null)
            {
                // A website's user (nobody): through public/submit.sock in the 0711 data folder.
                var web = Run("setpriv", ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--", Path.Combine(bin, "sendmail"), "-t", "-i"],
                    "To: joe@hosted.test\nSubject: by a website\n\nhello\n", ("MAILWARD_DATA", data));
                Assert.True(web.Code == 0, web.Output);
                expected.Insert(0, "by a website");
            }
            // A vpopmail name through a link: its own usage.
            File.CreateSymbolicLink(Path.Combine(bin, "vpopbull"), program);
            Assert.Contains("usage: vpopbull", Run(Path.Combine(bin, "vpopbull"), ["-h"]).Output);

            // POP3 out: both messages, once delivery has put them in the Maildir.
            var subjects = new List<string>();
            for (var i = 0; i < 100 && subjects.Count < expected.Count; i++)
            {
                using var pop = new Pop3Client();
                await pop.ConnectAsync("127.0.0.1", pop3, SecureSocketOptions.None);
                await pop.AuthenticateAsync("joe@hosted.test", "secret");
                subjects.Clear();
                for (var n = 0; n < pop.Count; n++)
                    subjects.Add((await pop.GetMessageAsync(n)).Subject ?? "");
                await pop.DisconnectAsync(true);
                if (subjects.Count < expected.Count)
                    await Task.Delay(200);
            }
            subjects.Sort(StringComparer.Ordinal);
            Assert.Equal(expected, subjects);

            using (var term = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await term.WaitForExitAsync();
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(45));
            Assert.Equal(0, server.ExitCode);
        }
        finally
        {
            if (!server.HasExited)
                server.Kill();
            lock (log)
                output.WriteLine(log.ToString());
        }
    }

    private static (int Code, string Output) RunAs(string[] asUser, string program, string[] args) =>
        asUser.Length == 0 ? Run(program, args) : Run(asUser[0], [.. asUser[1..], program, .. args]);

    private static (int Code, string Output) Run(string program, string[] args, string stdin = "", params (string Name, string Value)[] environment)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
            psi.Environment[name] = value;
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(120_000))
            p.Kill();
        return (p.ExitCode, stdout.Result + stderr);
    }
}
