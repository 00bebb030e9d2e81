// A private Dovecot IMAP server for the differential tests (the way bench/vs-dovecot.sh runs one):
// its own config, base_dir, log and passwd-file in a fresh folder, listening on a free loopback
// port, serving a copy of the test's Maildir as uid 5000 (Dovecot serves no mail as root). A
// Dovecot the machine runs is never touched; this one is stopped by its own master pid.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Support;

namespace Mailward.Tests.Imap;

public sealed class StructureDovecotServer : IDisposable
{
    public const string ImapBinary = "/usr/lib/dovecot/imap";
    private const int MailUid = 5000;
    private readonly string _dir;

    public int Port { get; }
    public string User => "corpus";
    public string Password => "pw";

    /// <summary>Starts Dovecot over a copy of these files, in this order, as one INBOX (file i gets UID i + 1).</summary>
    public StructureDovecotServer(IReadOnlyList<string> messages)
    {
        // Short: Dovecot's unix sockets live under base_dir, and a socket path has at most 107 bytes.
        _dir = Directory.CreateTempSubdirectory("mwdc-").FullName;
        var maildir = Path.Combine(_dir, "Maildir");
        foreach (var sub in new[] { "cur", "new", "tmp" })
            Directory.CreateDirectory(Path.Combine(maildir, sub));
        for (var i = 0; i < messages.Count; i++)
            File.Copy(messages[i], Path.Combine(maildir, "cur", $"{1_700_000_000 + i}.corpus{i:D3}.test:2,"));
        // Dovecot numbers the files it finds in one sync by name order; dovecot-uidlist v3 pins it anyway.
        var uidlist = new StringBuilder($"3 V1 N{messages.Count + 1}\n");
        for (var i = 0; i < messages.Count; i++)
            uidlist.Append($"{i + 1} :{1_700_000_000 + i}.corpus{i:D3}.test\n");
        File.WriteAllText(Path.Combine(maildir, "dovecot-uidlist"), uidlist.ToString());
        Port = ServerProcesses.FreePort();
        File.WriteAllText(Path.Combine(_dir, "passwd"), $"{User}:{{PLAIN}}{Password}:{MailUid}:{MailUid}::{_dir}::\n");
        File.WriteAllText(Path.Combine(_dir, "dovecot.conf"), $$"""
            protocols = imap
            listen = 127.0.0.1
            base_dir = {{_dir}}/run
            log_path = {{_dir}}/dovecot.log
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain
            first_valid_uid = {{MailUid}}
            mail_location = maildir:{{maildir}}
            passdb {
              driver = passwd-file
              args = scheme=PLAIN {{_dir}}/passwd
            }
            userdb {
              driver = passwd-file
              args = {{_dir}}/passwd
            }
            service imap-login {
              inet_listener imap {
                port = {{Port}}
              }
              inet_listener imaps {
                port = 0
              }
            }
            """);
        Run("chown", "-R", $"{MailUid}:{MailUid}", maildir);
        Run("chmod", "755", _dir);
        Run("/usr/sbin/dovecot", "-c", Path.Combine(_dir, "dovecot.conf")); // forks its master and returns
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, Port);
                break;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
    }

    public string Log => File.Exists(Path.Combine(_dir, "dovecot.log")) ? File.ReadAllText(Path.Combine(_dir, "dovecot.log")) : "";

    /// <summary>Runs a program to its end. Its output is not captured: Dovecot's master would hold a pipe open for ever.</summary>
    private static void Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args))!;
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)}: exit {p.ExitCode}");
    }

    public void Dispose()
    {
        var pidFile = Path.Combine(_dir, "run", "master.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
        {
            try
            {
                using var master = Process.GetProcessById(pid);
                Run("kill", "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)); // the master stops its own children
                master.WaitForExit(5000);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
            }
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
