// The one transcript harness for every protocol (design.md, "Protocol conversation tests"): each
// file runs through the protocol's session over an in-memory pipe, the same with the client's
// bytes cut into 1-, 2-, 3-, 7- and 64-byte chunks (the replies must not change), and once over a
// real loopback socket through the real listener, bound to the @client address. After every run
// the file's "=" lines are checked. A protocol says only what is its own (ITranscriptProtocol).
// A file's further sessions ("2C:") run in the same world or against the same server; "! starttls"
// and "! compress" are the client's side of TLS and DEFLATE, done here; other "!" events are the protocol's.
using System.Net;
using System.Net.Security;
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

    /// <summary>A "!" event (other than starttls) done to the server during the socket run.</summary>
    Task ActAsync(Transcript t, ServerFixture server, string action) => throw new FormatException($"{t.Name}: unknown event !{action}");
}

/// <summary>One in-memory session: how to run it over a stream, how to check the "=" lines afterwards, and how to dispose of what it made.</summary>
public sealed class TranscriptSession(Func<Stream, Task> run, Action check, Func<ValueTask> dispose) : IAsyncDisposable
{
    public Func<Stream, Task> Run { get; } = run;
    public Action Check { get; } = check;

    /// <summary>Another session in the same world (a file's "2C:" lines), by its session id; null where the protocol has none.</summary>
    public Func<string, Func<Stream, Task>>? Another { get; init; }

    /// <summary>A "!" event (other than starttls) done to this world; null where the protocol has none.</summary>
    public Func<string, Task>? Act { get; init; }

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
            var others = new List<(DuplexStream Client, Task Run)>();
            await PlayAsync(t, client, chunk, $"in-memory, chunk {chunk}", number =>
            {
                var another = session.Another ?? throw new FormatException($"{t.Name}: this protocol's transcripts have one session");
                var (c, r) = DuplexStream.Serve(another($"T{chunk}-{number}"));
                others.Add(((DuplexStream)c, r));
                return Task.FromResult(c);
            }, action => (session.Act ?? throw new FormatException($"{t.Name}: unknown event !{action}"))(action));
            ((DuplexStream)client).CompleteWrite();
            foreach (var (c, _) in others)
                c.CompleteWrite();
            // Every session must end once its client has gone, and without an exception.
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var (_, r) in others)
                await r.WaitAsync(TimeSpan.FromSeconds(30));
            session.Check();
        }
    }

    /// <summary>Runs the file over a real loopback socket from the @client address to the protocol's listener.</summary>
    public static async Task OverSocketAsync(ITranscriptProtocol protocol, string file)
    {
        var t = Load(protocol, file);
        await using var server = await protocol.StartServerAsync(t);
        var others = new List<Stream>();
        try
        {
            await using var stream = await server.ConnectAsync(t.ClientAddress, protocol.Listener(server));
            await PlayAsync(t, stream, 0, "socket", async _ =>
            {
                var another = await server.ConnectAsync(t.ClientAddress, protocol.Listener(server));
                others.Add(another);
                return another;
            }, action => protocol.ActAsync(t, server, action));
        }
        finally
        {
            foreach (var s in others)
                await s.DisposeAsync();
        }
        await protocol.CheckServerAsync(t, server);
    }

    /// <summary>Sends the client's bytes (whole, or cut into <paramref name="chunk"/>-byte pieces) and matches every reply line.</summary>
    public static Task PlayAsync(Transcript t, Stream client, int chunk, string mode) =>
        PlayAsync(t, client, chunk, mode, _ => throw new FormatException($"{t.Name}: one session here"), a => throw new FormatException($"{t.Name}: no event !{a} here"));

    /// <summary>
    /// As above for a file with further sessions (<paramref name="open"/> connects session N at its first
    /// line) and "!" events (<paramref name="act"/>; "starttls" and "compress" are done here, on the client's side).
    /// </summary>
    public static async Task PlayAsync(Transcript t, Stream client, int chunk, string mode, Func<int, Task<Stream>> open, Func<string, Task> act)
    {
        var sessions = new Dictionary<int, (Stream Stream, ReplyReader Reader)> { [1] = (client, new ReplyReader(client)) };
        var captures = new Dictionary<string, string>(StringComparer.Ordinal);
        var n = 0;
        foreach (var step in t.Steps)
        {
            n++;
            if (!sessions.TryGetValue(step.Session, out var session))
            {
                var stream = await open(step.Session);
                sessions[step.Session] = session = (stream, new ReplyReader(stream));
            }
            var where = $"{t.Name} ({mode}), step {n}{(step.Session == 1 ? "" : $" (session {step.Session})")}";
            switch (step)
            {
                case Transcript.Send s:
                    // Bytes a STARTTLS go-ahead follows go whole: the injection case is one packet, and
                    // bytes cut after the command would reach the TLS handshake instead.
                    var whole = chunk <= 0 || StartTlsFollows(t, n - 1);
                    var bytes = Transcript.Substitute(s.Bytes, captures);
                    if (whole)
                    {
                        await session.Stream.WriteAsync(bytes);
                        await session.Stream.FlushAsync();
                    }
                    else
                        for (var i = 0; i < bytes.Length; i += chunk)
                        {
                            await session.Stream.WriteAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i)));
                            await session.Stream.FlushAsync();
                        }
                    break;
                case Transcript.Expect e:
                    var line = await ReadAsync(session.Reader, where, e.Pattern);
                    Assert.True(line is not null && Transcript.Matches(e.Pattern, line, captures),
                        $"{where}: expected \"{e.Pattern}\", got {(line is null ? "<closed>" : $"\"{line}\"")}");
                    break;
                case Transcript.ExpectClosed:
                    var rest = await ReadAsync(session.Reader, where, "<closed>");
                    Assert.True(rest is null, $"{where}: expected <closed>, got \"{rest}\"");
                    break;
                case Transcript.Act { Text: "starttls" }:
                    // Nothing may follow the go-ahead in plaintext (RFC 9051 §6.2.1).
                    Assert.True(session.Reader.Buffered == 0, $"{where}: the server sent {session.Reader.Buffered} octets after its STARTTLS go-ahead");
                    // The test servers' self-signed certificate, known by its name.
                    var tls = new SslStream(session.Stream, leaveInnerStreamOpen: true, (_, cert, _, _) => cert?.Subject == "CN=mail.test");
                    await tls.AuthenticateAsClientAsync("mail.test").WaitAsync(TimeSpan.FromSeconds(15));
                    sessions[step.Session] = (tls, new ReplyReader(tls));
                    break;
                case Transcript.Act { Text: "compress" }:
                    // After the server's OK nothing more comes uncompressed (RFC 4978 §3).
                    Assert.True(session.Reader.Buffered == 0, $"{where}: the server sent {session.Reader.Buffered} octets uncompressed after its COMPRESS go-ahead");
                    var deflated = new DeflatedStream(session.Stream);
                    sessions[step.Session] = (deflated, new ReplyReader(deflated));
                    break;
                case Transcript.Act a:
                    await act(a.Text);
                    break;
            }
        }
        foreach (var (s, _) in sessions.Values)
            if (s is SslStream or DeflatedStream)
                await s.DisposeAsync(); // the plain stream under it is the caller's
    }

    /// <summary>The next reply line; a step that waits past the reader's timeout fails saying which step.</summary>
    private static async Task<string?> ReadAsync(ReplyReader reader, string where, string expected)
    {
        try
        {
            return await reader.ReadLineAsync();
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"{where}: expected \"{expected}\", got nothing in time");
            throw;
        }
    }

    /// <summary>Whether a "! starttls" of the same session comes after step <paramref name="index"/> before that session sends again.</summary>
    private static bool StartTlsFollows(Transcript t, int index)
    {
        var session = t.Steps[index].Session;
        foreach (var later in t.Steps.Skip(index + 1).Where(s => s.Session == session))
        {
            if (later is Transcript.Act { Text: "starttls" })
                return true;
            if (later is Transcript.Send)
                return false;
        }
        return false;
    }
}
