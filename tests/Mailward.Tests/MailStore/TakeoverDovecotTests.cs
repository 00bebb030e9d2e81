// Takeover from a real Dovecot (Debian's, started privately on loopback as bench/vs-dovecot.sh does):
// MailKit's ImapClient and Pop3Client make Dovecot write its own dovecot-uidlist (v3, with P records
// from pop3_save_uidl), dovecot-keywords, subscriptions and a modified UTF-7 folder; then Mailward
// opens the same Maildir and shows the same UIDVALIDITY, UIDs, UIDNEXT, flags, keywords,
// subscriptions, folder name and POP3 UIDLs.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Security;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.MailStore;

public sealed class TakeoverDovecotTests : IDisposable
{
    private const int DovecotUid = 5000; // Dovecot serves no mail as root; any unused uid does (bench/vs-dovecot.sh)
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed record Seen(uint Validity, uint Next, List<(uint Uid, string Subject, MailKit.MessageFlags Flags, string[] Keywords)> Messages);

    [FactWhenInstalled("/usr/lib/dovecot/pop3", "dovecot-pop3d")] // its config serves POP3 too (the P records), so the imap-only package is not enough
    public async Task Mailward_takes_over_what_Dovecot_wrote_and_shows_the_same_uids_flags_keywords_subscriptions_and_uidls()
    {
        var home = _dir.Combine("mail", "joe");
        Directory.CreateDirectory(home);
        var (imapPort, pop3Port) = (ServerProcesses.FreePort(), ServerProcesses.FreePort());
        var conf = WriteConfig(home, imapPort, pop3Port);
        Chown(_dir.Combine("mail"));
        Seen inbox, ete;
        IList<string> uidls;
        using var dovecot = await StartDovecotAsync(conf, imapPort);
        try
        {
            using (var imap = new ImapClient { Timeout = 15_000 })
            {
                await imap.ConnectAsync("127.0.0.1", imapPort, SecureSocketOptions.None);
                await imap.AuthenticateAsync("joe", "pw");
                var box = imap.Inbox;
                await box.OpenAsync(FolderAccess.ReadWrite);
                for (var i = 0; i < 5; i++)
                    await box.AppendAsync(Message($"m{i}"), i % 2 == 0 ? MailKit.MessageFlags.Seen : MailKit.MessageFlags.None);
                await box.AddFlagsAsync(new UniqueId(1), MailKit.MessageFlags.Deleted, true);
                await box.ExpungeAsync(); // UID 1 gone: the UIDs have a gap Mailward must keep
                await box.AddFlagsAsync(new UniqueId(3), MailKit.MessageFlags.Flagged | MailKit.MessageFlags.Answered, true);
                await box.StoreAsync([new UniqueId(3), new UniqueId(4)], new StoreFlagsRequest(StoreAction.Add, ["$Work", "Later"]) { Silent = true });
                await box.StoreAsync(new UniqueId(5), new StoreFlagsRequest(StoreAction.Add, ["Later"]) { Silent = true });
                var folder = (await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Été", true))!;
                await folder.SubscribeAsync();
                await folder.OpenAsync(FolderAccess.ReadWrite);
                await folder.AppendAsync(Message("e1"), MailKit.MessageFlags.Draft);
                inbox = await SeenAsync(box);
                ete = await SeenAsync(folder);
                await imap.DisconnectAsync(true);
            }
            using var pop3 = new Pop3Client { Timeout = 15_000 };
            await pop3.ConnectAsync("127.0.0.1", pop3Port, SecureSocketOptions.None);
            await pop3.AuthenticateAsync("joe", "pw");
            uidls = await pop3.GetMessageUidsAsync(); // pop3_save_uidl: Dovecot writes them as P records
            await pop3.DisconnectAsync(true);
        }
        finally
        {
            // SIGTERM: Dovecot's master stops its processes and exits.
            Run("kill", dovecot.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(dovecot.WaitForExit(30_000));
        }
        var maildir = Path.Combine(home, "Maildir");
        Assert.StartsWith("3 ", await File.ReadAllTextAsync(Path.Combine(maildir, "dovecot-uidlist")));
        Assert.Contains(" P", await File.ReadAllTextAsync(Path.Combine(maildir, "dovecot-uidlist")));
        Assert.True(Directory.Exists(Path.Combine(maildir, ".&AMk-t&AOk-")));

        var store = new MaildirStore(new MailStoreLayout(_dir.Combine("mail")), "node-a", "mail.test");
        var owner = new MailboxOwner("joe@hosted.test", "joe");
        Assert.Equal(["INBOX", "Été"], await store.ListFoldersAsync(owner));
        Assert.Contains("Été", await store.SubscriptionsAsync(owner));
        using (var box = await store.OpenAsync(owner))
        {
            AssertSame(inbox, box);
            Assert.Equal(uidls, box.Entries.Select(e => e.Pop3Uidl)); // Dovecot's %08Xu%08Xv UIDLs, from the P records
        }
        using (var box = await store.OpenAsync(owner, "Été"))
            AssertSame(ete, box);
    }

    private static void AssertSame(Seen dovecot, IMailbox box)
    {
        Assert.Equal(dovecot.Validity, box.UidValidity);
        Assert.Equal(dovecot.Next, box.UidNext);
        Assert.Equal(dovecot.Messages.Select(m => m.Uid), box.Entries.Select(e => e.Uid));
        foreach (var (m, e) in dovecot.Messages.Zip(box.Entries))
        {
            Assert.Equal(m.Subject, Subject(box, e.Uid));
            Assert.Equal((int)(m.Flags & (MailKit.MessageFlags.Seen | MailKit.MessageFlags.Answered | MailKit.MessageFlags.Flagged
                | MailKit.MessageFlags.Deleted | MailKit.MessageFlags.Draft)), (int)e.Flags); // both enums use RFC order: Seen 1 ... Draft 16
            Assert.Equal(m.Keywords.Order(StringComparer.Ordinal), e.Keywords.Order(StringComparer.Ordinal));
        }
    }

    private static string Subject(IMailbox box, uint uid)
    {
        using var reader = box.OpenMessage(uid)!;
        var bytes = new byte[4096];
        var n = reader.Read(bytes);
        return MimeMessage.Load(new MemoryStream(bytes, 0, n)).Subject ?? "";
    }

    private static async Task<Seen> SeenAsync(IMailFolder folder)
    {
        await folder.OpenAsync(FolderAccess.ReadOnly); // a fresh SELECT: UIDNEXT as the server has it after the APPENDs
        var summaries = await folder.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.Envelope);
        var messages = summaries.OrderBy(s => s.UniqueId.Id)
            .Select(s => (s.UniqueId.Id, s.Envelope!.Subject ?? "", s.Flags ?? MailKit.MessageFlags.None, s.Keywords.ToArray())).ToList();
        return new Seen(folder.UidValidity, folder.UidNext!.Value.Id, messages);
    }

    private static MimeMessage Message(string subject) => new(
        [new MailboxAddress("", "s@remote.test")], [new MailboxAddress("", "joe@hosted.test")], subject, new TextPart("plain") { Text = $"body of {subject}\n" });

    private string WriteConfig(string home, int imapPort, int pop3Port)
    {
        var run = _dir.Combine("dovecot-run");
        Directory.CreateDirectory(run);
        File.WriteAllText(_dir.Combine("passwd"), $"joe:{{PLAIN}}pw:{DovecotUid}:{DovecotUid}::{home}::\n");
        var conf = _dir.Combine("dovecot.conf");
        File.WriteAllText(conf, $$"""
            protocols = imap pop3
            listen = 127.0.0.1
            base_dir = {{run}}
            log_path = {{_dir.Combine("dovecot.log")}}
            ssl = no
            disable_plaintext_auth = no
            auth_mechanisms = plain
            first_valid_uid = {{DovecotUid}}
            mail_location = maildir:~/Maildir
            pop3_save_uidl = yes
            namespace inbox {
              inbox = yes
              prefix = INBOX.
              separator = .
            }
            passdb {
              driver = passwd-file
              args = {{_dir.Combine("passwd")}}
            }
            userdb {
              driver = passwd-file
              args = {{_dir.Combine("passwd")}}
            }
            service imap-login {
              inet_listener imap {
                port = {{imapPort}}
              }
              inet_listener imaps {
                port = 0
              }
            }
            service pop3-login {
              inet_listener pop3 {
                port = {{pop3Port}}
              }
              inet_listener pop3s {
                port = 0
              }
            }
            """);
        return conf;
    }

    /// <summary>The mail folder goes to Dovecot's uid, and the temp path must let it through.</summary>
    private void Chown(string mail)
    {
        for (var d = _dir.Path; d != "/" && d is not null; d = Path.GetDirectoryName(d)!)
            File.SetUnixFileMode(d, File.GetUnixFileMode(d) | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        Run("chown", "-R", $"{DovecotUid}:{DovecotUid}", mail);
    }

    /// <summary>Dovecot's master in the foreground (-F): a child of this test, stopped by the test.</summary>
    private static async Task<Process> StartDovecotAsync(string conf, int imapPort)
    {
        var master = Process.Start(new ProcessStartInfo("dovecot", ["-F", "-c", conf]))!;
        var until = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, imapPort);
                return master;
            }
            catch (SocketException) when (DateTime.UtcNow < until && !master.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    private static void Run(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args))!;
        Assert.True(p.WaitForExit(30_000) && p.ExitCode == 0, $"{program} {string.Join(' ', args)} failed");
    }
}
