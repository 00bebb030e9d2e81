// POP3 conversations as transcripts (design.md's format, Support/Transcript.cs), run by the shared
// harness (Support/TranscriptHarness.cs): every file in Pop3/Transcripts through the session in
// memory, whole and in 1-, 2-, 3-, 7- and 64-byte chunks, and over a real socket to the POP3
// listener. Fixtures and "=" lines: Support/MailboxTranscripts.cs ("@flags ADDRESS no-pop", ...);
// "@set Key=value" is a Pop3 setting.
using System.Net;
using Mailward.Protocols.Common;
using Mailward.Protocols.Pop3;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Pop3;

public class Pop3TranscriptTests
{
    public static readonly Pop3Transcripts Protocol = new();

    public static string Folder => TranscriptHarness.FolderOf(Protocol);

    public static TheoryData<string> Files() => TranscriptHarness.Files(Protocol);

    [Theory]
    [MemberData(nameof(Files))]
    public Task In_memory_whole_and_chunked(string file) => TranscriptHarness.InMemoryAsync(Protocol, file);

    [Theory]
    [MemberData(nameof(Files))]
    public Task Over_a_real_socket(string file) => TranscriptHarness.OverSocketAsync(Protocol, file);
}

/// <summary>POP3's part in the transcript harness.</summary>
public sealed class Pop3Transcripts : ITranscriptProtocol
{
    public string Folder => Path.Combine("Pop3", "Transcripts");
    public string Pattern => "*.pop3";

    /// <summary>The session's options as the listener would read them from these settings.</summary>
    public static Pop3Options Options(IEnumerable<string> settings)
    {
        var options = new Pop3Options { Hostname = "mail.test", FailedLoginDelay = TimeSpan.Zero };
        foreach (var kv in settings.Select(s => s.Split('=', 2)))
            options = kv[0] switch
            {
                "MaxBadCommands" => options with { MaxBadCommands = int.Parse(kv[1]) },
                "AllowPlaintextAuth" => options with { AllowPlaintextAuth = Enum.Parse<PlaintextAuth>(kv[1], ignoreCase: true) },
                _ => throw new FormatException($"unknown @set {kv[0]}"),
            };
        return options;
    }

    public TranscriptSession StartInMemory(Transcript t, string sessionId)
    {
        var world = new MailboxWorld(t);
        var session = new Pop3Session(Options(TranscriptHarness.Settings(t)), world.Logins, TestMailStores.Store(world.Layout), TestMailStores.Locks(world.Layout),
            NullLogger.Instance);
        var info = new Pop3SessionInfo(sessionId, IPAddress.Parse(t.ClientAddress), IPAddress.Loopback);
        return new TranscriptSession(server => session.RunAsync(server, info, CancellationToken.None), () => world.Check(t),
            () => { world.Dispose(); return ValueTask.CompletedTask; });
    }

    public Task<ServerFixture> StartServerAsync(Transcript t) =>
        ServerFixture.StartAsync(TranscriptHarness.FixturesWithoutSettings(t),
            ["--Pop3:FailedLoginDelayMilliseconds=0", .. TranscriptHarness.Settings(t).Select(s => "--Pop3:" + s)]);

    public IPEndPoint Listener(ServerFixture server) => server.Pop3;

    public Task CheckServerAsync(Transcript t, ServerFixture server) => MailboxAssertions.CheckServerAsync(t, server);
}
