// IMAP conversations as transcripts (design.md's format with tags, Support/Transcript.cs), run by
// the shared harness (Support/TranscriptHarness.cs): every file in Imap/Transcripts through the
// session in memory, whole and in 1-, 2-, 3-, 7- and 64-byte chunks, and over a real socket to the
// IMAP listener. Fixtures and "=" lines ("= mailbox ADDRESS N", "= folder ADDRESS NAME N"):
// Support/MailboxTranscripts.cs; "@set Key=value" is an Imap setting.
using System.Net;
using Mailward.Core.MailStore;
using Mailward.Protocols.Common;
using Mailward.Protocols.Imap;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
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
        var services = new ImapServices(world.Logins, TestMailStores.Store(world.Layout), new MailboxEvents(), new ImapUserConnections(10));
        var session = new ImapSession(Options(TranscriptHarness.Settings(t)), services, NullLogger.Instance);
        var info = new ImapSessionInfo(sessionId, IPAddress.Parse(t.ClientAddress), IPAddress.Loopback) { StartTls = TranscriptHarness.TestCertificate.Value.HandshakeAsync };
        return new TranscriptSession(server => session.RunAsync(server, info, CancellationToken.None), () => world.Check(t),
            () =>
            {
                session.Dispose();
                world.Dispose();
                return ValueTask.CompletedTask;
            });
    }

    public Task<ServerFixture> StartServerAsync(Transcript t) =>
        ServerFixture.StartAsync(TranscriptHarness.FixturesWithoutSettings(t),
            ["--Imap:FailedLoginDelayMilliseconds=0", .. TranscriptHarness.Settings(t).Select(s => "--Imap:" + s)]);

    public IPEndPoint Listener(ServerFixture server) => server.Imap;

    public Task CheckServerAsync(Transcript t, ServerFixture server) => MailboxAssertions.CheckServerAsync(t, server);
}
