// SMTP conversations as transcripts, run by the shared harness (Support/TranscriptHarness.cs):
// every file in Smtp/Transcripts through the session in memory, whole and in 1-, 2-, 3-, 7- and
// 64-byte chunks (replies must not change), and over a real loopback socket through the listener.
// Fixtures: SmtpFixture ("@set Key=value" is an Smtp setting); "=" lines are assertions on the queue
// ("= queued N|nothing", "= recipients ...", "= sender ...", "= body-has|body-lacks|body-ends ...").
using System.Net;
using Mailward.Protocols.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Smtp;

public class TranscriptTests
{
    public static readonly SmtpTranscripts Protocol = new();

    public static string Folder => TranscriptHarness.FolderOf(Protocol);

    public static TheoryData<string> Files() => TranscriptHarness.Files(Protocol);

    [Theory]
    [MemberData(nameof(Files))]
    public Task In_memory_whole_and_chunked(string file) => TranscriptHarness.InMemoryAsync(Protocol, file);

    [Theory]
    [MemberData(nameof(Files))]
    public Task Over_a_real_socket(string file) => TranscriptHarness.OverSocketAsync(Protocol, file);
}

/// <summary>SMTP's part in the transcript harness.</summary>
public sealed class SmtpTranscripts : ITranscriptProtocol
{
    public string Folder => Path.Combine("Smtp", "Transcripts");
    public string Pattern => "*.smtp";

    public TranscriptSession StartInMemory(Transcript t, string sessionId)
    {
        var fx = new SmtpFixture(t.Fixtures);
        var session = new SmtpSession(fx.Options, fx.Policy, fx.Queue, NullLogger.Instance);
        var info = new SmtpSessionInfo(sessionId, IPAddress.Parse(t.ClientAddress), 40000) { StartTls = TranscriptHarness.TestCertificate.Value.HandshakeAsync };
        return new TranscriptSession(server => session.RunAsync(server, info, CancellationToken.None), () => Check(t, fx.Messages), fx.DisposeAsync);
    }

    public Task<ServerFixture> StartServerAsync(Transcript t) => ServerFixture.StartAsync(t.Fixtures);

    public IPEndPoint Listener(ServerFixture server) => server.Smtp;

    public Task CheckServerAsync(Transcript t, ServerFixture server)
    {
        Check(t, server.Messages);
        return Task.CompletedTask;
    }

    /// <summary>Checks the "=" lines against the queued messages.</summary>
    public static void Check(Transcript t, IReadOnlyList<Mailward.Core.Queue.QueuedMessage> messages)
    {
        foreach (var a in t.Assertions)
        {
            var parts = a.Split(' ', 2);
            var arg = parts.Length > 1 ? parts[1] : "";
            var last = messages.Count > 0 ? messages[^1] : null;
            switch (parts[0])
            {
                case "queued":
                    Assert.True((arg == "nothing" ? 0 : int.Parse(arg)) == messages.Count, $"{t.Name}: {a}, but {messages.Count} queued");
                    break;
                case "recipients":
                    Assert.Equal(arg.Split(' '), last!.Envelope.Recipients);
                    break;
                case "sender":
                    Assert.Equal(arg == "<>" ? "" : arg, last!.Envelope.Sender);
                    break;
                case "body-has":
                    Assert.True(Contains(SmtpFixture.Body(last!), Transcript.Unescape(arg)), $"{t.Name}: body lacks {arg}");
                    break;
                case "body-lacks":
                    Assert.False(Contains(SmtpFixture.Body(last!), Transcript.Unescape(arg)), $"{t.Name}: body has {arg}");
                    break;
                case "body-ends":
                    Assert.True(SmtpFixture.Body(last!).AsSpan().EndsWith(Transcript.Unescape(arg)), $"{t.Name}: body does not end with {arg}");
                    break;
                default:
                    throw new FormatException($"unknown assertion ={a}");
            }
        }
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
