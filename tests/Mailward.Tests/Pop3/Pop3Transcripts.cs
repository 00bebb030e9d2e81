// POP3 conversations as transcripts (design.md's format, Smtp/Transcript.cs): every file in
// Pop3/Transcripts runs through the session over an in-memory pipe, the same with the client's
// bytes cut into 1-, 2-, 3-, 7- and 64-byte chunks, and over a real socket to the POP3 listener.
// Fixtures: the SMTP ones (@user, @aliasdomain, ...) plus @mail ADDRESS NAME TEXT and
// @flags ADDRESS no-pop; "@set Key=value" is a Pop3 setting. Assertion: "= mailbox ADDRESS N".
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Mailward.Protocols.Common;
using Mailward.Protocols.Pop3;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Pop3;

public class Pop3TranscriptTests
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Pop3", "Transcripts");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Folder, "*.pop3").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    private static (string[] Fixtures, string[] Settings) Split(Transcript t) =>
        (t.Fixtures.Where(f => !f.StartsWith("set ", StringComparison.Ordinal)).ToArray(),
         t.Fixtures.Where(f => f.StartsWith("set ", StringComparison.Ordinal)).Select(f => f[4..].Trim()).ToArray());

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
            var options = new Pop3Options { Hostname = "mail.test", FailedLoginDelay = TimeSpan.Zero };
            foreach (var kv in settings.Select(s => s.Split('=', 2)))
                options = kv[0] switch
                {
                    "MaxBadCommands" => options with { MaxBadCommands = int.Parse(kv[1]) },
                    "AllowPlaintextAuth" => options with { AllowPlaintextAuth = Enum.Parse<PlaintextAuth>(kv[1], ignoreCase: true) },
                    _ => throw new FormatException($"unknown @set {kv[0]}"),
                };
            var session = new Pop3Session(options, new LoginService(store, hasher, new LoginOptions()), TestMailStores.Store(layout), TestMailStores.Locks(layout),
                NullLogger.Instance);
            var (client, run) = DuplexStream.Serve(server => session.RunAsync(server, new Pop3SessionInfo("T" + chunk, IPAddress.Parse(t.ClientAddress), IPAddress.Loopback), CancellationToken.None));
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
            ["--Pop3:FailedLoginDelayMilliseconds=0", .. settings.Select(s => "--Pop3:" + s)]);
        await using (var stream = await server.ConnectAsync(t.ClientAddress, server.Pop3))
        {
            await TranscriptRunner.PlayAsync(t, stream, 0, "socket");
        }
        using var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        // The session ends after the client has gone: give it a moment before counting files.
        await Task.Delay(100);
        Check(t, store, new MailStoreLayout(Path.Combine(server.DataPath, "domains")));
    }

    private static void Check(Transcript t, SqliteAccountStore store, MailStoreLayout layout)
    {
        foreach (var a in t.Assertions)
        {
            var parts = a.Split(' ');
            if (parts is not ["mailbox", var address, var count])
                throw new FormatException($"unknown assertion ={a}");
            var who = MailAddress.Parse(address);
            var user = store.FindUser(who.Local, who.Domain)!;
            var maildir = MailStoreLayout.MaildirOf(layout.Resolve(user.Directory));
            var files = new[] { "new", "cur" }.Sum(d => Directory.GetFiles(Path.Combine(maildir, d)).Length);
            Assert.True(int.Parse(count) == files, $"{t.Name}: {a}, but {files} messages are there");
        }
    }
}
