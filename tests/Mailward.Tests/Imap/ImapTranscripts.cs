// IMAP conversations as transcripts (design.md's format with tags, Support/Transcript.cs), run by
// the shared harness (Support/TranscriptHarness.cs): every file in Imap/Transcripts through the
// session in memory, whole and in 1-, 2-, 3-, 7- and 64-byte chunks, and over a real socket to the
// IMAP listener. Fixtures and "=" lines ("= mailbox ADDRESS N", "= folder ADDRESS NAME N"):
// Support/MailboxTranscripts.cs; "@set Key=value" is an Imap setting.
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Protocols.Common;
using Mailward.Protocols.Imap;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Imap;

public class ImapTranscriptTests
{
    public static readonly ImapTranscripts Protocol = new();

    public static string Folder => TranscriptHarness.FolderOf(Protocol);

    public static TheoryData<string> Files() => TranscriptHarness.Files(Protocol);

    [Theory]
    [MemberData(nameof(Files))]
    public Task In_memory_whole_and_chunked(string file) => TranscriptHarness.InMemoryAsync(Protocol, file);

    [Theory]
    [MemberData(nameof(Files))]
    public Task Over_a_real_socket(string file) => TranscriptHarness.OverSocketAsync(Protocol, file);
}

/// <summary>IMAP's part in the transcript harness.</summary>
public sealed class ImapTranscripts : ITranscriptProtocol
{
    public string Folder => Path.Combine("Imap", "Transcripts");
    public string Pattern => "*.imap";

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

    public TranscriptSession StartInMemory(Transcript t, string sessionId)
    {
        var world = new MailboxWorld(t);
        // One store and one change hub for all the file's sessions, as in the server: what one session
        // changes is announced to the others (IDLE, NOOP).
        var events = new MailboxEvents();
        var store = new MaildirStore(world.Layout, "test-node", "mail.test", events: events,
            options: new MaildirStoreOptions { Quotas = new Mailward.Core.MailStore.Quotas.AccountOwnerQuotas(world.Store, world.Store, world.Layout) });
        var services = new ImapServices(world.Logins, store, events, new ImapUserConnections(10));
        var options = Options(TranscriptHarness.Settings(t));
        var sessions = new List<ImapSession>();
        Func<Stream, Task> Start(string id)
        {
            var session = new ImapSession(options, services, NullLogger.Instance);
            sessions.Add(session);
            var info = new ImapSessionInfo(id, IPAddress.Parse(t.ClientAddress), IPAddress.Loopback) { StartTls = TranscriptHarness.TestCertificate.Value.HandshakeAsync };
            return server => session.RunAsync(server, info, CancellationToken.None);
        }
        return new TranscriptSession(Start(sessionId), () => world.Check(t),
            () =>
            {
                foreach (var s in sessions)
                    s.Dispose();
                world.Dispose();
                return ValueTask.CompletedTask;
            })
        {
            Another = Start,
            Act = action =>
            {
                MailboxAssertions.Deliver(t, action, world.Store, world.Layout, events);
                return Task.CompletedTask;
            },
        };
    }

    public Task<ServerFixture> StartServerAsync(Transcript t) =>
        ServerFixture.StartAsync(TranscriptHarness.FixturesWithoutSettings(t),
            ["--Imap:FailedLoginDelayMilliseconds=0", .. TranscriptHarness.Settings(t).Select(s => "--Imap:" + s)]);

    public IPEndPoint Listener(ServerFixture server) => server.Imap;

    public Task CheckServerAsync(Transcript t, ServerFixture server) => MailboxAssertions.CheckServerAsync(t, server);

    public Task ActAsync(Transcript t, ServerFixture server, string action)
    {
        using var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        MailboxAssertions.Deliver(t, action, store, new MailStoreLayout(Path.Combine(server.DataPath, "domains")), server.Services.GetRequiredService<MailboxEvents>());
        return Task.CompletedTask;
    }
}
