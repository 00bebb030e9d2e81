// IMAP conversations as transcripts (design.md's format, Smtp/Transcript.cs), with tags: every file
// in Imap/Transcripts runs through the session over an in-memory pipe, the same with the client's
// bytes cut into 1-, 2-, 3-, 7- and 64-byte chunks, and over a real socket to the IMAP listener.
// Fixtures: the SMTP ones (@user, @mail ADDRESS NAME TEXT, @flags ADDRESS no-imap, ...); "@set
// Key=value" is an Imap setting. Assertions: "= mailbox ADDRESS N" and "= folder ADDRESS NAME N".
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.Passwords;
using Mailward.Protocols.Common;
using Mailward.Protocols.Imap;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Imap;

public class ImapTranscriptTests
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Imap", "Transcripts");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Folder, "*.imap").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    private static (string[] Fixtures, string[] Settings) Split(Transcript t) =>
        (t.Fixtures.Where(f => !f.StartsWith("set ", StringComparison.Ordinal)).ToArray(),
         t.Fixtures.Where(f => f.StartsWith("set ", StringComparison.Ordinal)).Select(f => f[4..].Trim()).ToArray());

    /// <summary>The session's options as the listener would read them from these settings.</summary>
    public static ImapOptions Options(IEnumerable<string> settings)
    {
        var options = new ImapOptions { Hostname = "mail.test", FailedLoginDelay = TimeSpan.Zero };
        foreach (var kv in settings.Select(s => s.Split('=', 2)))
            options = kv[0] switch
            {
                "MaxBadCommands" => options with { MaxBadCommands = int.Parse(kv[1]) },
                "AllowPlaintextAuth" => options with { AllowPlaintextAuth = Enum.Parse<PlaintextAuth>(kv[1], ignoreCase: true) },
                "MaxLineBytes" => options with { MaxLineBytes = int.Parse(kv[1]) },
                "MaxPreLoginLineBytes" => options with { MaxPreLoginLineBytes = int.Parse(kv[1]) },
                "MaxLiteralBytes" => options with { MaxLiteralBytes = int.Parse(kv[1]) },
                "AppendLimitBytes" => options with { AppendLimit = long.Parse(kv[1]) },
                "MaxNesting" => options with { ParserLimits = options.ParserLimits with { MaxDepth = int.Parse(kv[1]) } },
                "MaxLiteralsPerCommand" => options with { ParserLimits = options.ParserLimits with { MaxLiterals = int.Parse(kv[1]) } },
                "NamespacePrefix" => options with { NamespacePrefix = kv[1] },
                "Separator" => options with { Separator = kv[1][0] },
                _ => throw new FormatException($"unknown @set {kv[0]}"),
            };
        return options;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task In_memory_whole_and_chunked(string file)
    {
        var t = Transcript.Load(Path.Combine(Folder, file));
        foreach (var chunk in new[] { 0, 1, 2, 3, 7, 64 })
        {
            using var tmp = new TempFolder();
            using var store = new SqliteAccountStore($"Data Source={tmp.Combine("accounts.db")}");
            var layout = new MailStoreLayout(tmp.Combine("domains"));
            var hasher = new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 });
            var admin = new AccountAdmin(store, layout, hasher);
            var (fixtures, settings) = Split(t);
            SmtpFixture.Apply(admin, store, fixtures);
            var services = new ImapServices(new LoginService(store, hasher, new LoginOptions()), TestMailStores.Store(layout), new MailboxEvents(),
                new ImapUserConnections(10));
            using var session = new ImapSession(Options(settings), services, NullLogger.Instance);
            var info = new ImapSessionInfo("T" + chunk, IPAddress.Parse(t.ClientAddress), IPAddress.Loopback) { StartTls = TranscriptRunner.TestCertificate.Value.HandshakeAsync };
            var (client, run) = DuplexStream.Serve(server => session.RunAsync(server, info, CancellationToken.None));
            await TranscriptRunner.PlayAsync(t, client, chunk, $"in-memory, chunk {chunk}");
            ((DuplexStream)client).CompleteWrite();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            Check(t, store, layout);
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Over_a_real_socket(string file)
    {
        var t = Transcript.Load(Path.Combine(Folder, file));
        var (fixtures, settings) = Split(t);
        await using var server = await ServerFixture.StartAsync(fixtures,
            ["--Imap:FailedLoginDelayMilliseconds=0", .. settings.Select(s => "--Imap:" + s)]);
        await using (var stream = await server.ConnectAsync(t.ClientAddress, server.Imap))
        {
            await TranscriptRunner.PlayAsync(t, stream, 0, "socket");
        }
        using var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        await Task.Delay(100); // the session ends after the client has gone
        Check(t, store, new MailStoreLayout(Path.Combine(server.DataPath, "domains")));
    }

    private static void Check(Transcript t, SqliteAccountStore store, MailStoreLayout layout)
    {
        foreach (var a in t.Assertions)
        {
            var parts = a.Split(' ');
            var (address, folder, count) = parts switch
            {
                ["mailbox", var ad, var c] => (ad, "INBOX", c),
                ["folder", var ad, var f, var c] => (ad, f, c),
                _ => throw new FormatException($"unknown assertion ={a}"),
            };
            var who = MailAddress.Parse(address);
            var user = store.FindUser(who.Local, who.Domain)!;
            var path = MaildirStore.FolderPath(MailStoreLayout.MaildirOf(layout.Resolve(user.Directory)), folder);
            var files = new[] { "new", "cur" }.Sum(d => Directory.Exists(Path.Combine(path, d)) ? Directory.GetFiles(Path.Combine(path, d)).Length : 0);
            Assert.True(int.Parse(count) == files, $"{t.Name}: {a}, but {files} messages are there");
        }
    }
}
