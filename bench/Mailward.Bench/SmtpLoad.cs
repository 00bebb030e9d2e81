// SMTP load generator: `concurrency` connections, each sending its share of `messages` messages of
// about `size` bytes to the given recipients, MAIL/RCPT/DATA pipelined in one write (RFC 2920).
// Counts only messages the server answered 250 after DATA; prints msgs/s and latency, and a
// RESULT line for scripts. A Python client tops out near 2,300 msgs/s here; this one does not.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mailward.Bench;

internal static class SmtpLoad
{
    private sealed record Options(string Host, int Port, int Messages, int Size, int Concurrency, string[] Recipients, string From, TimeSpan Limit, bool Spread,
        string? MessageFile, string? Bind);

    public static int Run(string[] args)
    {
        var o = Parse(args);
        var body = o.MessageFile is { } file ? Message(File.ReadAllBytes(file)) : Body(o.Size);
        // All recipients in every message, or (--spread) one recipient per message, round-robin.
        var envelopes = (o.Spread ? o.Recipients.Select(r => new[] { r }) : [o.Recipients])
            .Select(rs => Encoding.ASCII.GetBytes($"MAIL FROM:<{o.From}>\r\n" + string.Concat(rs.Select(r => $"RCPT TO:<{r}>\r\n")) + "DATA\r\n"))
            .ToArray();
        var perMessage = o.Spread ? 1 : o.Recipients.Length;
        var latencies = new long[o.Messages];
        var next = -1;
        var accepted = 0;
        var failed = 0;
        using var deadline = new CancellationTokenSource(o.Limit);
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, o.Concurrency).Select(_ => Task.Run(async () =>
        {
            try
            {
                using var tcp = o.Bind is { } bind ? new TcpClient(new IPEndPoint(IPAddress.Parse(bind), 0)) { NoDelay = true } : new TcpClient { NoDelay = true };
                await tcp.ConnectAsync(o.Host, o.Port, deadline.Token);
                var stream = tcp.GetStream();
                var reader = new ReplyReader(stream);
                await reader.ExpectAsync('2', 1, deadline.Token);
                await stream.WriteAsync("EHLO load.test\r\n"u8.ToArray(), deadline.Token);
                await reader.ExpectEhloAsync(deadline.Token);
                int i;
                while ((i = Interlocked.Increment(ref next)) < o.Messages && !deadline.IsCancellationRequested)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    await stream.WriteAsync(envelopes[i % envelopes.Length], deadline.Token);
                    if (!await reader.ExpectAsync('2', 1 + perMessage, deadline.Token) || !await reader.ExpectAsync('3', 1, deadline.Token))
                    {
                        Interlocked.Increment(ref failed);
                        await stream.WriteAsync("RSET\r\n"u8.ToArray(), deadline.Token);
                        await reader.ExpectAsync('2', 1, deadline.Token);
                        continue;
                    }
                    await stream.WriteAsync(body, deadline.Token);
                    if (await reader.ExpectAsync('2', 1, deadline.Token))
                    {
                        latencies[i] = Stopwatch.GetTimestamp() - t0;
                        Interlocked.Increment(ref accepted);
                    }
                    else
                        Interlocked.Increment(ref failed);
                }
                await stream.WriteAsync("QUIT\r\n"u8.ToArray(), CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                if (Interlocked.Increment(ref failed) <= 3)
                    Console.Error.WriteLine($"connection failed: {e.GetType().Name}: {e.Message}");
            }
        })).ToArray();
        Task.WaitAll(workers);
        var seconds = sw.Elapsed.TotalSeconds;
        var done = latencies.Where(l => l > 0).Order().ToArray();
        double Ms(long t) => t * 1000.0 / Stopwatch.Frequency;
        var p50 = done.Length > 0 ? Ms(done[done.Length / 2]) : 0;
        var p99 = done.Length > 0 ? Ms(done[(int)(done.Length * 0.99)]) : 0;
        Console.WriteLine($"{o.Host}:{o.Port}: {accepted} accepted, {failed} failed, {seconds:F2} s, {accepted / seconds:F0} msgs/s, latency p50 {p50:F1} ms p99 {p99:F1} ms (concurrency {o.Concurrency}, {o.Size} bytes, {o.Recipients.Length} rcpt)");
        Console.WriteLine($"RESULT accepted={accepted} failed={failed} seconds={seconds:F3} rate={accepted / seconds:F1} p50ms={p50:F2} p99ms={p99:F2}");
        return failed > 0 && accepted == 0 ? 1 : 0;
    }

    /// <summary>A prepared message (a DKIM-signed one, say) as DATA carries it: CRLF lines, dots stuffed, the final dot.</summary>
    private static byte[] Message(byte[] raw)
    {
        var text = Encoding.Latin1.GetString(raw).ReplaceLineEndings("\r\n");
        if (!text.EndsWith("\r\n", StringComparison.Ordinal))
            text += "\r\n";
        text = (text.StartsWith('.') ? "." : "") + text.Replace("\r\n.", "\r\n..", StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(text + ".\r\n");
    }

    /// <summary>A message of about <paramref name="size"/> bytes, dot-terminated, lines of 76 characters.</summary>
    private static byte[] Body(int size)
    {
        var sb = new StringBuilder("From: load@load.test\r\nTo: joe@bench.test\r\nSubject: load test\r\nMessage-ID: <load@load.test>\r\n\r\n");
        var line = new string('x', 74) + "\r\n";
        while (sb.Length + line.Length <= size)
            sb.Append(line);
        sb.Append(".\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    private static Options Parse(string[] args)
    {
        string host = "127.0.0.1", from = "load@load.test";
        int port = 25, messages = 10_000, size = 2048, concurrency = 32, seconds = 300;
        var spread = false;
        string? messageFile = null, bind = null;
        var rcpts = new[] { "joe@bench.test" };
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--host": host = Next(); break;
                case "--port": port = int.Parse(Next()); break;
                case "--messages": messages = int.Parse(Next()); break;
                case "--size": size = int.Parse(Next()); break;
                case "--concurrency": concurrency = int.Parse(Next()); break;
                case "--rcpt": rcpts = Next().Split(','); break;
                case "--from": from = Next(); break;
                case "--seconds": seconds = int.Parse(Next()); break;
                case "--spread": spread = true; break;
                case "--message": messageFile = Next(); break;
                case "--bind": bind = Next(); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return new Options(host, port, messages, size, concurrency, rcpts, from, TimeSpan.FromSeconds(seconds), spread, messageFile, bind);
    }

    /// <summary>Reads replies, skipping continuation lines; true when each of <c>count</c> replies starts with the digit.</summary>
    private sealed class ReplyReader(NetworkStream stream)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start;
        private int _end;

        public async Task<bool> ExpectAsync(char digit, int count, CancellationToken ct)
        {
            var ok = true;
            for (var n = 0; n < count; n++)
            {
                var line = await LineAsync(ct);
                while (line.Length > 3 && line[3] == '-')
                    line = await LineAsync(ct);
                ok &= line.Length > 0 && line[0] == digit;
            }
            return ok;
        }

        public Task<bool> ExpectEhloAsync(CancellationToken ct) => ExpectAsync('2', 1, ct);

        private async Task<string> LineAsync(CancellationToken ct)
        {
            while (true)
            {
                var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (lf >= 0)
                {
                    var line = Encoding.ASCII.GetString(_buffer, _start, lf - _start);
                    _start = lf + 1;
                    return line;
                }
                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                var n = await stream.ReadAsync(_buffer.AsMemory(_end), ct);
                if (n == 0)
                    throw new IOException("server closed the connection");
                _end += n;
            }
        }
    }
}
