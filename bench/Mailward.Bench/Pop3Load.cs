// POP3 load generator. `retrieve`: each session logs in, runs LIST and UIDL, RETRs every message
// and QUITs without deleting (so runs repeat), `rounds` times per mailbox; reports msgs/s and MB/s.
// `logins`: `concurrency` connections doing USER/PASS/QUIT in a loop over the given users for
// `seconds`; reports logins/s. Prints a RESULT line for scripts.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Mailward.Bench;

internal static class Pop3Load
{
    public static int Run(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var mode = args.FirstOrDefault() ?? "retrieve";
        var host = Arg("--host", "127.0.0.1");
        var port = int.Parse(Arg("--port", "110"));
        var users = Arg("--users", "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var password = Arg("--password", "pw");
        var concurrency = int.Parse(Arg("--concurrency", "16"));
        var rounds = int.Parse(Arg("--rounds", "1"));
        var seconds = double.Parse(Arg("--seconds", "10"), System.Globalization.CultureInfo.InvariantCulture);
        if (users.Length == 0)
        {
            Console.Error.WriteLine("usage: Mailward.Bench pop3 retrieve|logins --users a@x,b@y [--password P] [--host H] [--port P] [--concurrency N] [--rounds N] [--seconds S]");
            return 1;
        }
        return mode == "logins"
            ? Logins(host, port, users, password, concurrency, TimeSpan.FromSeconds(seconds))
            : Retrieve(host, port, users, password, rounds);
    }

    /// <summary>One session per mailbox at a time (POP3 locks the mailbox), all mailboxes in parallel.</summary>
    private static int Retrieve(string host, int port, string[] users, string password, int rounds)
    {
        long messages = 0, bytes = 0;
        var sw = Stopwatch.StartNew();
        var tasks = users.Select(user => Task.Run(async () =>
        {
            for (var r = 0; r < rounds; r++)
            {
                using var tcp = new TcpClient { NoDelay = true };
                await tcp.ConnectAsync(host, port);
                var c = new Conn(tcp.GetStream());
                await c.ExpectOkAsync();
                await c.SendAsync($"USER {user}\r\nPASS {password}\r\n");
                await c.ExpectOkAsync();
                await c.ExpectOkAsync();
                await c.SendAsync("LIST\r\n");
                await c.ExpectOkAsync();
                var count = (await c.BlockAsync()).Lines;
                await c.SendAsync("UIDL\r\n");
                await c.ExpectOkAsync();
                await c.BlockAsync();
                // RETRs pipelined in groups (RFC 2449 PIPELINING), as a fetching client would.
                for (var start = 1; start <= count; start += 32)
                {
                    var end = Math.Min(count, start + 31);
                    var sb = new StringBuilder();
                    for (var i = start; i <= end; i++)
                        sb.Append($"RETR {i}\r\n");
                    await c.SendAsync(sb.ToString());
                    for (var i = start; i <= end; i++)
                    {
                        await c.ExpectOkAsync();
                        var (_, b) = await c.BlockAsync();
                        Interlocked.Add(ref bytes, b);
                        Interlocked.Increment(ref messages);
                    }
                }
                await c.SendAsync("QUIT\r\n");
                await c.ExpectOkAsync();
            }
        })).ToArray();
        Task.WaitAll(tasks);
        var s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{host}:{port}: {messages} messages, {bytes / 1e6:F1} MB in {s:F2} s: {messages / s:F0} msgs/s, {bytes / 1e6 / s:F1} MB/s");
        Console.WriteLine($"RESULT messages={messages} bytes={bytes} seconds={s:F3} rate={messages / s:F1} mbps={bytes / 1e6 / s:F2}");
        return 0;
    }

    private static int Logins(string host, int port, string[] users, string password, int concurrency, TimeSpan duration)
    {
        long ok = 0, failed = 0;
        var next = -1;
        using var stop = new CancellationTokenSource(duration);
        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var user = users[(Interlocked.Increment(ref next) & int.MaxValue) % users.Length];
                try
                {
                    using var tcp = new TcpClient { NoDelay = true };
                    await tcp.ConnectAsync(host, port);
                    var c = new Conn(tcp.GetStream());
                    await c.ExpectOkAsync();
                    await c.SendAsync($"USER {user}\r\nPASS {password}\r\nQUIT\r\n");
                    await c.ExpectOkAsync();
                    var pass = await c.LineAsync();
                    await c.LineAsync();
                    if (pass.StartsWith("+OK", StringComparison.Ordinal))
                        Interlocked.Increment(ref ok);
                    else if (Interlocked.Increment(ref failed) <= 3)
                        Console.Error.WriteLine($"login failed: {pass}");
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })).ToArray();
        Task.WaitAll(tasks);
        var s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{host}:{port}: {ok} logins, {failed} failed in {s:F2} s: {ok / s:F0} logins/s (concurrency {concurrency})");
        Console.WriteLine($"RESULT logins={ok} failed={failed} seconds={s:F3} rate={ok / s:F1}");
        return 0;
    }

    private sealed class Conn(NetworkStream stream)
    {
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _start, _end;

        /// <summary>Refills the empty buffer; a closed connection is an error mid-answer.</summary>
        private async Task FillAsync()
        {
            _start = 0;
            _end = await stream.ReadAsync(_buffer);
            if (_end == 0)
                throw new IOException("closed");
        }

        public Task SendAsync(string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

        public async Task<string> LineAsync()
        {
            var line = new List<byte>(128);
            while (true)
            {
                if (_start == _end)
                    await FillAsync();
                var span = _buffer.AsSpan(_start, _end - _start);
                var lf = span.IndexOf((byte)'\n');
                if (lf < 0)
                {
                    line.AddRange(span.ToArray());
                    _start = _end;
                    continue;
                }
                line.AddRange(span[..(lf + 1)].ToArray());
                _start += lf + 1;
                return Encoding.ASCII.GetString([.. line]);
            }
        }

        public async Task ExpectOkAsync()
        {
            var line = await LineAsync();
            if (!line.StartsWith("+OK", StringComparison.Ordinal))
                throw new IOException("server said: " + line.Trim());
        }

        /// <summary>A multi-line answer up to the lone dot: its line count and bytes (as sent).</summary>
        public async Task<(int Lines, long Bytes)> BlockAsync()
        {
            // Scans the buffer without building lines: the client must not be the bottleneck.
            var lines = 0;
            long bytes = 0;
            var column = 0;      // bytes since the last line start
            var dotLine = false; // the current line so far is "."
            while (true)
            {
                if (_start == _end)
                    await FillAsync();
                for (; _start < _end; _start++)
                {
                    var b = _buffer[_start];
                    if (b == (byte)'\n')
                    {
                        if (dotLine && column == 2)
                        {
                            _start++;
                            return (lines, bytes);
                        }
                        lines++;
                        bytes += column + 1;
                        column = 0;
                        dotLine = false;
                        continue;
                    }
                    if (column == 0)
                        dotLine = b == (byte)'.';
                    else if (!(column == 1 && b == (byte)'\r'))
                        dotLine = false;
                    column++;
                }
            }
        }
    }
}
