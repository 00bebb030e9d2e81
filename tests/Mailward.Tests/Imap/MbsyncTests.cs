// mbsync (isync from Debian) against the IMAP listener: a two-way sync to a local Maildir, changes on
// both sides synced back, and a third run that transfers nothing. What mbsync sent is read from its
// own protocol trace (-Dn), so "nothing downloaded again" is checked on the wire, not guessed.
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;
using MaildirWriter = Mailward.Core.MailStore.MaildirWriter;

namespace Mailward.Tests.Imap;

public partial class MbsyncTests
{
    private const string Joe = "joe@hosted.test";

    [FactWhenInstalled("mbsync")]
    public async Task Mbsync_syncs_both_ways_and_a_third_run_transfers_nothing()
    {
        await using var server = await ServerFixture.StartAsync(["user " + Joe]);
        var inbox = DeliveryTestMail.Maildir(server, Joe);
        foreach (var (subject, n) in new[] { ("one", 1), ("two", 2), ("three", 3) })
        {
            using var body = new MemoryStream(Encoding.ASCII.GetBytes($"From: a@remote.test\r\nSubject: {subject}\r\n\r\nbody {subject}\r\n"));
            MaildirWriter.Deliver(inbox, $"{1700000000 + n}.M{n:D4}P1", "mail.test", "a@remote.test", Joe, body);
        }
        using (var imap = await ConnectAsync(server))
        {
            var work = await imap.GetFolder(imap.PersonalNamespaces[0]).CreateAsync("Work", true) ?? throw new InvalidOperationException("CREATE gave no folder");
            await work.AppendAsync(MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes("From: b@remote.test\r\nSubject: work one\r\n\r\nw1\r\n"))));
            await imap.DisconnectAsync(true);
        }

        using var dir = new TempFolder();
        var near = dir.Combine("mail");
        Directory.CreateDirectory(near);
        var config = dir.Combine("mbsyncrc");
        await File.WriteAllTextAsync(config, await ConfigAsync(server.Imap.Port, near));

        // Run 1: everything comes down, once.
        var run1 = await RunMbsyncAsync(config, dir.Path);
        Assert.Equal(4, run1.Count(c => c.Contains("BODY.PEEK[]", StringComparison.Ordinal)));
        Assert.Equal(["one", "three", "two"], Subjects(Path.Combine(near, "INBOX")).Keys.Order());
        Assert.Equal(["work one"], Subjects(Path.Combine(near, "Work")).Keys);
        var downloaded = Subjects(Path.Combine(near, "INBOX")).ToDictionary(kv => kv.Key, kv => BaseName(kv.Value));

        // Changes on both sides: locally a new message, a new folder and a flag; on the server a flag
        // and an expunged message.
        var one = Subjects(Path.Combine(near, "INBOX"))["one"];
        Directory.CreateDirectory(Path.Combine(near, "INBOX", "cur"));
        File.Move(one, Path.Combine(near, "INBOX", "cur", BaseName(one) + ":2,F"));
        await File.WriteAllTextAsync(Path.Combine(near, "Work", "new", "1800000000.1_1.laptop"), "From: joe@hosted.test\r\nSubject: local one\r\n\r\nwritten here\r\n");
        foreach (var d in new[] { "cur", "new", "tmp" })
            Directory.CreateDirectory(Path.Combine(near, "Local", d));
        await File.WriteAllTextAsync(Path.Combine(near, "Local", "new", "1800000000.2_1.laptop"), "From: joe@hosted.test\r\nSubject: local folder\r\n\r\nx\r\n");
        using (var imap = await ConnectAsync(server))
        {
            await imap.Inbox.OpenAsync(FolderAccess.ReadWrite);
            var bySubject = await UidsBySubjectAsync(imap.Inbox);
            await imap.Inbox.AddFlagsAsync(bySubject["two"], MessageFlags.Seen, true);
            await imap.Inbox.AddFlagsAsync(bySubject["three"], MessageFlags.Deleted, true);
            await imap.Inbox.ExpungeAsync();
            await imap.DisconnectAsync(true);
        }

        // Run 2: the changes cross, nothing already there is fetched again.
        var run2 = await RunMbsyncAsync(config, dir.Path);
        Assert.DoesNotContain(run2, c => c.Contains("BODY.PEEK[]", StringComparison.Ordinal));
        Assert.Contains(run2, c => c.StartsWith("APPEND \"INBOX.Work\"", StringComparison.Ordinal));
        Assert.Contains(run2, c => c.StartsWith("CREATE \"INBOX.Local\"", StringComparison.Ordinal));
        Assert.Contains(run2, c => c.StartsWith("APPEND \"INBOX.Local\"", StringComparison.Ordinal));
        Assert.Contains(run2, c => c.Contains("+FLAGS", StringComparison.Ordinal) && c.Contains("\\Flagged", StringComparison.Ordinal));

        var local = Subjects(Path.Combine(near, "INBOX"));
        Assert.Equal(["one", "two"], local.Keys.Order());
        Assert.EndsWith(":2,F", local["one"], StringComparison.Ordinal);
        Assert.EndsWith(":2,S", local["two"], StringComparison.Ordinal);
        Assert.Equal(downloaded["one"], BaseName(local["one"])); // the same files, renamed for their flags
        Assert.Equal(downloaded["two"], BaseName(local["two"]));
        Assert.Equal(["local one", "work one"], Subjects(Path.Combine(near, "Work")).Keys.Order());

        Dictionary<string, (UniqueId Uid, MessageFlags Flags)> serverInbox, serverWork;
        using (var imap = await ConnectAsync(server))
        {
            serverInbox = await StateAsync(imap.Inbox);
            Assert.Equal(["one", "two"], serverInbox.Keys.Order());
            Assert.Equal(MessageFlags.Flagged, serverInbox["one"].Flags & ~MessageFlags.Recent);
            Assert.Equal(MessageFlags.Seen, serverInbox["two"].Flags & ~MessageFlags.Recent);
            serverWork = await StateAsync(await imap.GetFolderAsync("INBOX.Work"));
            Assert.Equal(["local one", "work one"], serverWork.Keys.Order());
            Assert.Equal(["local folder"], (await StateAsync(await imap.GetFolderAsync("INBOX.Local"))).Keys);
            await imap.DisconnectAsync(true);
        }

        // Run 3: nothing to do, and nothing done on either side.
        var before = Snapshot(near);
        var run3 = await RunMbsyncAsync(config, dir.Path);
        var allowed = new Regex(@"^(LOGIN|NAMESPACE|LIST|SELECT|CLOSE|LOGOUT|CAPABILITY|COMPRESS DEFLATE|UID FETCH [0-9:,*]+ \(UID FLAGS\))( |$)");
        Assert.All(run3, c => Assert.Matches(allowed, c));
        Assert.Contains("COMPRESS DEFLATE", run3); // isync turns COMPRESS on when offered: the runs above went deflated
        Assert.Equal(before, Snapshot(near));
        using (var imap = await ConnectAsync(server))
        {
            Assert.Equal(serverInbox, await StateAsync(imap.Inbox));
            Assert.Equal(serverWork, await StateAsync(await imap.GetFolderAsync("INBOX.Work")));
            await imap.DisconnectAsync(true);
        }
    }

    private static async Task<ImapClient> ConnectAsync(ServerFixture server)
    {
        var imap = new ImapClient { Timeout = 20_000 };
        await imap.ConnectAsync(server.Imap.Address.ToString(), server.Imap.Port, SecureSocketOptions.None);
        await imap.AuthenticateAsync(Joe, "pw");
        return imap;
    }

    /// <summary>The config for the installed isync: 1.5 renamed SSLType to TLSType, 1.4 Master/Slave to Far/Near.</summary>
    private static async Task<string> ConfigAsync(int port, string near)
    {
        var (_, version) = await RunAsync("mbsync", ["--version"], null);
        var m = VersionPattern().Match(version);
        var (major, minor) = m.Success ? (int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value)) : (1, 4);
        var tls = (major, minor) is (1, < 5) or (0, _) ? "SSLType" : "TLSType";
        var (far, nearKey) = (major, minor) is (1, < 4) or (0, _) ? ("Master", "Slave") : ("Far", "Near");
        return $"""
            IMAPAccount mailward
            Host 127.0.0.1
            Port {port}
            User {Joe}
            Pass pw
            {tls} None
            AuthMechs LOGIN
            Timeout 20

            IMAPStore server
            Account mailward

            MaildirStore laptop
            Path {near}/
            Inbox {near}/INBOX
            SubFolders Verbatim

            Channel sync
            {far} :server:
            {nearKey} :laptop:
            Patterns *
            Create Both
            Expunge Both
            Sync All
            SyncState *

            """;
    }

    /// <summary>One mbsync run; the IMAP commands it sent (from its -Dn trace, tags removed).</summary>
    private static async Task<List<string>> RunMbsyncAsync(string config, string home)
    {
        var (code, log) = await RunAsync("mbsync", ["-c", config, "-V", "-Dn", "sync"], home);
        Assert.True(code == 0, log);
        return log.Split('\n').Select(l => CommandPattern().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value.TrimEnd('\r')).ToList();
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, string[] args, string? home)
    {
        var psi = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (home is not null)
            psi.Environment["HOME"] = home;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        return (p.ExitCode, await stdout + await stderr);
    }

    /// <summary>A local Maildir folder's messages by subject (full paths).</summary>
    private static Dictionary<string, string> Subjects(string folder) =>
        new[] { "new", "cur" }.Select(d => Path.Combine(folder, d)).Where(Directory.Exists).SelectMany(Directory.GetFiles)
            .ToDictionary(f => MimeMessage.Load(f).Subject ?? "", f => f);

    /// <summary>A Maildir file name without its flags: what stays when only flags change.</summary>
    private static string BaseName(string file) => Path.GetFileName(file).Split(':')[0];

    /// <summary>Every file under the local store with its size and modification time.</summary>
    private static List<string> Snapshot(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => $"{Path.GetRelativePath(root, f)} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f).Ticks}").ToList();

    private static async Task<Dictionary<string, UniqueId>> UidsBySubjectAsync(IMailFolder folder) =>
        (await StateAsync(folder)).ToDictionary(kv => kv.Key, kv => kv.Value.Uid);

    /// <summary>A server folder's messages by subject: UID and flags (bodies fetched with BODY.PEEK[]).</summary>
    private static async Task<Dictionary<string, (UniqueId Uid, MessageFlags Flags)>> StateAsync(IMailFolder folder)
    {
        if (!folder.IsOpen)
            await folder.OpenAsync(FolderAccess.ReadOnly);
        var state = new Dictionary<string, (UniqueId, MessageFlags)>();
        foreach (var s in await folder.FetchAsync(0, -1, MessageSummaryItems.UniqueId | MessageSummaryItems.Flags))
            state[(await folder.GetMessageAsync(s.UniqueId)).Subject ?? ""] = (s.UniqueId, s.Flags ?? MessageFlags.None);
        return state;
    }

    [GeneratedRegex(@"isync (\d+)\.(\d+)")]
    private static partial Regex VersionPattern();

    [GeneratedRegex(@"^(?:\(\d+ in progress\) )?>>> \d+ (.*)$")]
    private static partial Regex CommandPattern();
}
