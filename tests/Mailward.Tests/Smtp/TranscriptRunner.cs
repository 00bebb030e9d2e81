// Plays a transcript against a stream to an SMTP server: sends the client's bytes (whole, or cut
// into chunks of a given size), reads and matches each reply, then checks the "=" assertions.
using System.Net;
using System.Text;
using Mailward.Protocols.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Smtp;

public static class TranscriptRunner
{
    /// <summary>One self-signed certificate for every in-memory session of the run (RSA key generation is slow).</summary>
    public static readonly Lazy<Mailward.Protocols.Tls.TlsCertificates> TestCertificate = new(() =>
        Mailward.Protocols.Tls.TlsCertificates.Load("", "", Path.Combine(Path.GetTempPath(), "mailward-tests", "tls-" + Environment.ProcessId), "mail.test"));

    /// <summary>Runs the transcript through an in-memory pipe to a session; chunk 0 sends each write whole.</summary>
    public static async Task RunInMemoryAsync(Transcript t, int chunk)
    {
        await using var fx = new SmtpFixture(t.Fixtures);
        var session = new SmtpSession(fx.Options, fx.Policy, fx.Queue, NullLogger.Instance);
        var info = new SmtpSessionInfo("T" + chunk, IPAddress.Parse(t.ClientAddress), 40000) { StartTls = TestCertificate.Value.HandshakeAsync };
        var (client, run) = DuplexStream.Serve(server => session.RunAsync(server, info, CancellationToken.None));
        await PlayAsync(t, client, chunk, $"in-memory, chunk {chunk}");
        ((DuplexStream)client).CompleteWrite();
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        Check(t, fx.Messages);
    }

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

    /// <summary>Reads CRLF-terminated reply lines; null at end of stream. Bounded by a timeout.</summary>
    public sealed class ReplyReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task<string?> ReadLineAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (true)
            {
                var lf = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
                if (lf >= 0)
                {
                    var line = Encoding.Latin1.GetString(_buffer, _start, lf).TrimEnd('\r');
                    _start += lf + 1;
                    return line;
                }
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                int n;
                try
                {
                    n = await stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
                }
                catch (IOException)
                {
                    n = 0;
                }
                if (n == 0)
                    return null;
                _end += n;
            }
        }
    }
}
