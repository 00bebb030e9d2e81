// The one transcript harness for every protocol (design.md, "Protocol conversation tests"): each
// file runs through the protocol's session over an in-memory pipe, the same with the client's
// bytes cut into 1-, 2-, 3-, 7- and 64-byte chunks (the replies must not change), and once over a
// real loopback socket through the real listener, bound to the @client address. After every run
// the file's "=" lines are checked. A protocol says only what is its own (ITranscriptProtocol).
using System.Net;
using Mailward.Protocols.Tls;
using Mailward.Tests.Smtp;

namespace Mailward.Tests.Support;

/// <summary>What one protocol brings to the harness: its files, its session, its listener and what its "=" lines mean.</summary>
public interface ITranscriptProtocol
{
    /// <summary>The folder of its files under the test output, e.g. "Imap/Transcripts".</summary>
    string Folder { get; }

    /// <summary>The files' name pattern, e.g. "*.imap".</summary>
    string Pattern { get; }

    /// <summary>Makes a fresh world from the file's "@" lines and a session in it, named <paramref name="sessionId"/>.</summary>
    TranscriptSession StartInMemory(Transcript t, string sessionId);

    /// <summary>Starts a real server set up from the file's "@" lines.</summary>
    Task<ServerFixture> StartServerAsync(Transcript t);

    /// <summary>The listener the socket run connects to.</summary>
    IPEndPoint Listener(ServerFixture server);

    /// <summary>Checks the "=" lines against the server after the socket run (the client has gone).</summary>
    Task CheckServerAsync(Transcript t, ServerFixture server);
}

/// <summary>One in-memory session: how to run it over a stream, how to check the "=" lines afterwards, and how to dispose of what it made.</summary>
public sealed class TranscriptSession(Func<Stream, Task> run, Action check, Func<ValueTask> dispose) : IAsyncDisposable
{
    public Func<Stream, Task> Run { get; } = run;
    public Action Check { get; } = check;

    public ValueTask DisposeAsync() => dispose();
}

public static class TranscriptHarness
{
    /// <summary>0 sends each write whole; the others cut the client's bytes into pieces of that size.</summary>
    public static readonly int[] Chunkings = [0, 1, 2, 3, 7, 64];

    /// <summary>One self-signed certificate for every in-memory session of the run (RSA key generation is slow).</summary>
    public static readonly Lazy<TlsCertificates> TestCertificate = new(() =>
        TlsCertificates.Load("", "", Path.Combine(Path.GetTempPath(), "mailward-tests", "tls-" + Environment.ProcessId), "mail.test"));

    /// <summary>The protocol's transcript files, in name order, for a theory.</summary>
    public static TheoryData<string> Files(ITranscriptProtocol protocol)
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(FolderOf(protocol), protocol.Pattern).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    public static string FolderOf(ITranscriptProtocol protocol) => Path.Combine(AppContext.BaseDirectory, protocol.Folder);

    public static Transcript Load(ITranscriptProtocol protocol, string file) => Transcript.Load(Path.Combine(FolderOf(protocol), file));

    /// <summary>The "@set Key=value" lines as "Key=value", for protocols whose settings are their own section.</summary>
    public static string[] Settings(Transcript t) =>
        t.Fixtures.Where(f => f.StartsWith("set ", StringComparison.Ordinal)).Select(f => f[4..].Trim()).ToArray();

    /// <summary>The "@" lines other than "@set".</summary>
    public static string[] FixturesWithoutSettings(Transcript t) =>
        t.Fixtures.Where(f => !f.StartsWith("set ", StringComparison.Ordinal)).ToArray();

    /// <summary>Runs the file in memory, whole and in every chunking, each time in a fresh world.</summary>
    public static async Task InMemoryAsync(ITranscriptProtocol protocol, string file)
    {
        var t = Load(protocol, file);
        foreach (var chunk in Chunkings)
        {
            await using var session = protocol.StartInMemory(t, "T" + chunk);
            var (client, run) = DuplexStream.Serve(session.Run);
            await PlayAsync(t, client, chunk, $"in-memory, chunk {chunk}");
            ((DuplexStream)client).CompleteWrite();
            // The session must end once the client has gone, and without an exception.
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            session.Check();
        }
    }

    /// <summary>Runs the file over a real loopback socket from the @client address to the protocol's listener.</summary>
    public static async Task OverSocketAsync(ITranscriptProtocol protocol, string file)
    {
        var t = Load(protocol, file);
        await using var server = await protocol.StartServerAsync(t);
        await using (var stream = await server.ConnectAsync(t.ClientAddress, protocol.Listener(server)))
        {
            await PlayAsync(t, stream, 0, "socket");
        }
        await protocol.CheckServerAsync(t, server);
    }

    /// <summary>Sends the client's bytes (whole, or cut into <paramref name="chunk"/>-byte pieces) and matches every reply line.</summary>
    public static async Task PlayAsync(Transcript t, Stream client, int chunk, string mode)
    {
        var reader = new ReplyReader(client);
        var n = 0;
        foreach (var step in t.Steps)
        {
            n++;
            switch (step)
            {
                case Transcript.Send s:
                    if (chunk <= 0)
                    {
                        await client.WriteAsync(s.Bytes);
                        await client.FlushAsync();
                    }
                    else
                        for (var i = 0; i < s.Bytes.Length; i += chunk)
                        {
                            await client.WriteAsync(s.Bytes.AsMemory(i, Math.Min(chunk, s.Bytes.Length - i)));
                            await client.FlushAsync();
                        }
                    break;
                case Transcript.Expect e:
                    var line = await reader.ReadLineAsync();
                    Assert.True(line is not null && Transcript.Matches(e.Pattern, line),
                        $"{t.Name} ({mode}), step {n}: expected \"{e.Pattern}\", got {(line is null ? "<closed>" : $"\"{line}\"")}");
                    break;
                case Transcript.ExpectClosed:
                    var rest = await reader.ReadLineAsync();
                    Assert.True(rest is null, $"{t.Name} ({mode}), step {n}: expected <closed>, got \"{rest}\"");
                    break;
            }
        }
    }
}
