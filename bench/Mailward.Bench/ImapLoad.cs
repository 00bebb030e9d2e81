// IMAP load generator for bench/vs-dovecot-imap.sh. `fetch`: one session SELECTs a folder and runs
// `FETCH 1:* <items>` `rounds` times (msgs/s, MB/s); `select`: SELECT (timed) and UNSELECT (not) `rounds` times; `noop`:
// NOOP `rounds` times in a selected folder (a round trip with nothing to do, the floor under SELECT again);
// those two time single round trips, so their client blocks in recv (see Conn), and with `--versus PORT`
// two servers take turns round by round;
// `search`: SEARCH <criteria> `rounds` times; `logins`: LOGIN/LOGOUT at `concurrency`; `idle`:
// `sessions` IDLE sessions from many loopback addresses, the server's memory per session, then
// `deliveries` messages (over SMTP, or written into a Maildir's new/) and the time to each IDLE
// client's EXISTS; `fill`: writes a Maildir folder of generated messages; `memory`: a server's memory before and after a GC. A command the server
// refuses (BAD/NO) is reported as `supported=0`. Every mode stops by itself (`--seconds`). Prints a
// RESULT line for scripts.
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Diagnostics.NETCore.Client;

namespace Mailward.Bench;

internal static class ImapLoad
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var mode = args.FirstOrDefault() ?? "";
        var host = Arg("--host", "127.0.0.1");
        var port = int.Parse(Arg("--port", "143"), Inv);
        var users = Arg("--users", "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        var password = Arg("--password", "pw");
        var folder = Arg("--folder", "INBOX");
        var rounds = int.Parse(Arg("--rounds", "1"), Inv);
        var seconds = double.Parse(Arg("--seconds", "300"), Inv);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var target = new IPEndPoint(IPAddress.Parse(host), port);
        // select and noop: --versus PORT adds a second server; the two take turns round by round.
        IPEndPoint[] Targets() => Arg("--versus", "") is { Length: > 0 } versus
            ? [target, new IPEndPoint(IPAddress.Parse(host), int.Parse(versus, Inv))] : [target];
        try
        {
            return mode switch
            {
                "fetch" => Fetch(target, users[0], password, folder, Arg("--items", "BODY.PEEK[]"), rounds, deadline.Token),
                "select" => Select(Targets(), users[0], password, folder, rounds, deadline.Token),
                "noop" => Noop(Targets(), users[0], password, folder, rounds, deadline.Token),
                "search" => Search(target, users[0], password, folder, Arg("--criteria", "TEXT needle"), rounds, deadline.Token),
                "logins" => Logins(target, users, password, int.Parse(Arg("--concurrency", "16"), Inv), deadline.Token),
                "idle" => Idle(target, users, password, int.Parse(Arg("--sessions", "100"), Inv), int.Parse(Arg("--deliveries", "20"), Inv),
                    Arg("--deliver", ""), int.Parse(Arg("--server-pid", "0"), Inv), Arg("--metrics", ""), deadline.Token),
                "fill" => Fill(Arg("--maildir", ""), int.Parse(Arg("--count", "1000"), Inv)),
                "memory" => Memory(int.Parse(Arg("--server-pid", "0"), Inv)),
                _ => Usage(),
            };
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine($"{mode}: stopped after {seconds} s");
            Console.WriteLine("RESULT supported=1 timeout=1 rate=0 mbps=0 ms=0");
            return 0;
        }
        catch (Exception e) when (e is AggregateException or IOException or SocketException)
        {
            // The script prints "error" in the row rather than stopping the whole run.
            Console.Error.WriteLine($"{mode}: {e.GetBaseException().Message}");
            Console.WriteLine("RESULT supported=1 error=1 rate=0 mbps=0 ms=0");
            return 0;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: Mailward.Bench imap fetch|select|noop|search|logins|idle|fill|memory [--host H] [--port P] --users a@x,b@y [--password P] [--folder F]");
        Console.Error.WriteLine("         [--items ITEMS] [--criteria C] [--rounds N] [--concurrency N] [--sessions N] [--deliveries N]");
        Console.Error.WriteLine("         [--deliver smtp:PORT|maildirs:FILE] [--server-pid PID] [--metrics URL] [--seconds LIMIT]   fill: --maildir DIR --count N; memory: --server-pid PID");
        return 1;
    }

    /// <summary>A logged-in session with the folder selected (none when <paramref name="folder"/> is null).</summary>
    private static Conn OpenSelected(IPEndPoint target, string user, string password, string? folder, CancellationToken ct, bool blocking = false)
    {
        var c = Conn.OpenAsync(target, null, ct, blocking).Result;
        try
        {
            c.LoginAsync(user, password, ct).Wait(ct);
            if (folder is null)
                return c;
            var selected = c.CommandAsync($"SELECT \"{folder}\"", ct).Result;
            return selected.Ok ? c : throw new IOException("SELECT: " + selected.Status);
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    private static int Fetch(IPEndPoint target, string user, string password, string folder, string items, int rounds, CancellationToken ct)
    {
        using var c = OpenSelected(target, user, password, folder, ct);
        long messages = 0, bytes = 0;
        var sw = Stopwatch.StartNew();
        for (var r = 0; r < rounds; r++)
        {
            var answer = c.CommandAsync($"FETCH 1:* {items}", ct).Result;
            if (!answer.Ok)
                return Unsupported("FETCH " + items, answer.Status);
            messages += answer.Untagged;
            bytes += answer.Bytes;
        }
        var s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{target}: FETCH 1:* {items}: {messages} messages, {bytes / 1e6:F1} MB in {s:F2} s: {messages / s:F0} msgs/s, {bytes / 1e6 / s:F1} MB/s");
        Console.WriteLine(string.Create(Inv, $"RESULT supported=1 messages={messages} bytes={bytes} seconds={s:F3} rate={messages / s:F1} mbps={bytes / 1e6 / s:F2}"));
        return 0;
    }

    private static int Select(IPEndPoint[] targets, string user, string password, string folder, int rounds, CancellationToken ct) =>
        TakeTurns(targets, rounds, "SELECT", target => OpenSelected(target, user, password, folder: null, ct, blocking: true),
            c => c.RoundTrip($"SELECT \"{folder}\""),
            untimed: c => c.RoundTrip("UNSELECT")); // until 2026-12-02 inside the timed part: every SELECT-again row up to then included an UNSELECT's round trip

    private static int Noop(IPEndPoint[] targets, string user, string password, string folder, int rounds, CancellationToken ct) =>
        TakeTurns(targets, rounds, "NOOP", target => OpenSelected(target, user, password, folder, ct, blocking: true),
            c => c.RoundTrip("NOOP"));

    /// <summary>
    /// Times one command per server per round (<paramref name="untimed"/> then runs outside the time),
    /// the servers taking turns (which goes first alternates),
    /// so with two servers both meet the same moments of a noisy machine: rows of tens of
    /// microseconds moved by a third between runs minutes apart. RESULT: the first server's first
    /// and median time as first= and ms=, the second's as versus_first= and versus_ms=.
    /// </summary>
    private static int TakeTurns(IPEndPoint[] targets, int rounds, string command, Func<IPEndPoint, Conn> open, Func<Conn, Answer> timed, Action<Conn>? untimed = null)
    {
        var conns = new List<Conn>();
        try
        {
            foreach (var target in targets)
                conns.Add(open(target));
            return TakeTurns(targets, conns, rounds, command, timed, untimed);
        }
        finally
        {
            foreach (var c in conns)
                c.Dispose();
        }
    }

    private static int TakeTurns(IPEndPoint[] targets, List<Conn> conns, int rounds, string command, Func<Conn, Answer> timed, Action<Conn>? untimed)
    {
        var times = conns.Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < rounds; r++)
            for (var k = 0; k < conns.Count; k++)
            {
                var i = (k + r) % conns.Count;
                var sw = Stopwatch.StartNew();
                var answer = timed(conns[i]);
                times[i].Add(sw.Elapsed.TotalMilliseconds);
                if (!answer.Ok)
                    return Unsupported($"{command} at {targets[i]}", answer.Status);
                untimed?.Invoke(conns[i]); // what puts the session back for the next round
            }
        var result = new StringBuilder("RESULT supported=1");
        for (var i = 0; i < conns.Count; i++)
        {
            Console.WriteLine($"{targets[i]}: {command}: first {times[i][0]:F3} ms, median {Median(times[i]):F3} ms over {rounds}");
            var prefix = i == 0 ? "" : "versus_";
            result.Append(string.Create(Inv, $" {prefix}first={times[i][0]:F3} {prefix}ms={Median(times[i]):F3}"));
        }
        Console.WriteLine(result);
        return 0;
    }

    private static int Search(IPEndPoint target, string user, string password, string folder, string criteria, int rounds, CancellationToken ct)
    {
        using var c = OpenSelected(target, user, password, folder, ct);
        var times = new List<double>();
        var hits = 0;
        for (var r = 0; r < rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            var answer = c.CommandAsync($"SEARCH {criteria}", ct).Result;
            times.Add(sw.Elapsed.TotalMilliseconds);
            if (!answer.Ok)
                return Unsupported("SEARCH", answer.Status);
            hits = answer.LastSearch;
        }
        Console.WriteLine($"{target}: SEARCH {criteria}: {hits} hits, median {Median(times):F1} ms over {rounds}");
        Console.WriteLine(string.Create(Inv, $"RESULT supported=1 hits={hits} ms={Median(times):F2}"));
        return 0;
    }

    private static int Logins(IPEndPoint target, string[] users, string password, int concurrency, CancellationToken ct)
    {
        long ok = 0, failed = 0;
        var next = -1;
        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (!ct.IsCancellationRequested)
            {
                var user = users[(Interlocked.Increment(ref next) & int.MaxValue) % users.Length];
                try
                {
                    using var c = await Conn.OpenAsync(target, null, ct);
                    var answer = await c.CommandAsync($"LOGIN \"{user}\" \"{password}\"", ct);
                    if (answer.Ok)
                        Interlocked.Increment(ref ok);
                    else if (Interlocked.Increment(ref failed) <= 3)
                        Console.Error.WriteLine($"login failed: {answer.Status}");
                    await c.SendAsync("L LOGOUT\r\n", ct); // the server closes; its BYE is not waited for
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    if (Interlocked.Increment(ref failed) <= 3)
                        Console.Error.WriteLine($"login failed: {e.Message}");
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        })).ToArray();
        Task.WaitAll(tasks, CancellationToken.None); // each worker stops at the deadline by itself
        var s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{target}: {ok} logins, {failed} failed in {s:F2} s: {ok / s:F0} logins/s (concurrency {concurrency})");
        Console.WriteLine(string.Create(Inv, $"RESULT supported=1 logins={ok} failed={failed} seconds={s:F3} rate={ok / s:F1}"));
        return 0;
    }

    /// <summary>
    /// Session i is user i mod U from loopback address i div U, so no user has two sessions from one
    /// address (per-user-and-address caps: Dovecot's mail_max_userip_connections, Mailward's
    /// Imap:MaxConnectionsPerUserAndClient).
    /// </summary>
    private static int Idle(IPEndPoint target, string[] users, string password, int sessions, int deliveries, string deliver, int serverPid, string metrics, CancellationToken ct)
    {
        // Memory per session is measured over the second half of the sessions: the first half
        // absorbs one-time growth (thread pool, buffer pools). Each sample of a .NET server follows
        // a full GC induced in it (SettledMemoryKiB): the garbage of earlier rows (a 100,000-message
        // folder's structures) made the difference negative, or near zero, when a GC ran meanwhile.
        var memoryBefore = SettledMemoryKiB(serverPid);
        var conns = new Conn[sessions];
        var sw = Stopwatch.StartNew();
        var half = sessions / 2;
        OpenSessions(0, half);
        Thread.Sleep(3000);
        var memoryHalf = SettledMemoryKiB(serverPid);
        var heapHalf = ManagedHeapBytes(metrics);
        OpenSessions(half, sessions - half);
        void OpenSessions(int first, int count)
        {
            using var gate = new SemaphoreSlim(32);
            Task.WaitAll(Enumerable.Range(first, count).Select(i => Task.Run(async () =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    var k = i / users.Length;
                    var from = IPAddress.Parse($"127.{1 + k / 250 / 250}.{k / 250 % 250}.{k % 250 + 1}");
                    var c = await Conn.OpenAsync(target, from, ct);
                    await c.LoginAsync(users[i % users.Length], password, ct);
                    var selected = await c.CommandAsync("SELECT INBOX", ct);
                    if (!selected.Ok)
                        throw new IOException("SELECT: " + selected.Status);
                    c.Exists = selected.Exists;
                    await c.SendAsync("i IDLE\r\n", ct);
                    var go = await c.LineAsync(ct);
                    if (!go.StartsWith('+'))
                        throw new IOException("IDLE: " + go);
                    conns[i] = c;
                }
                finally
                {
                    gate.Release();
                }
            }, ct)).ToArray(), ct);
        }
        var opened = sw.Elapsed.TotalSeconds - 3;
        Thread.Sleep(3000); // let the servers settle (Dovecot hibernates idle sessions after a few seconds)
        var memoryAfter = SettledMemoryKiB(serverPid);
        var perSession = (memoryAfter.Pss - memoryHalf.Pss) / (double)Math.Max(1, sessions - half);
        // The GC's own count of live managed bytes, beside the PSS: pages the GC keeps committed for
        // its young generation take new sessions' objects without any growth of the PSS.
        var heapPerSession = heapHalf is { } h0 && ManagedHeapBytes(metrics) is { } h1 ? (h1 - h0) / 1024.0 / Math.Max(1, sessions - half) : (double?)null;
        Console.WriteLine($"{target}: {sessions} IDLE sessions opened in {opened:F1} s; server memory {memoryBefore.Pss / 1024} -> {memoryHalf.Pss / 1024} (half) -> {memoryAfter.Pss / 1024} MiB (PSS; RSS {memoryBefore.Rss / 1024} -> {memoryAfter.Rss / 1024} MiB), {perSession:F1} KiB per session over the second half");

        // Each delivery goes to one user; every session of that user must see its EXISTS.
        var latencies = new List<double>();
        var byUser = Enumerable.Range(0, sessions).GroupBy(i => i % users.Length).ToDictionary(g => g.Key, g => g.Select(i => conns[i]).ToArray());
        var maildirs = deliver.StartsWith("maildirs:", StringComparison.Ordinal)
            ? File.ReadAllLines(deliver["maildirs:".Length..]).Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[1]) : null;
        var missed = 0;
        for (var d = 0; d < deliveries; d++)
        {
            var u = d % users.Length;
            var waiting = byUser[u].Select(c => c.WaitExistsAsync(c.Exists + 1, ct)).ToArray();
            var t0 = maildirs is null
                ? SendSmtpAsync(int.Parse(deliver["smtp:".Length..], Inv), users[u], d, ct).Result
                : WriteIntoNew(maildirs[users[u]], d);
            foreach (var w in waiting)
            {
                if (w.Wait(TimeSpan.FromSeconds(30), ct))
                    latencies.Add(Stopwatch.GetElapsedTime(t0, w.Result).TotalMilliseconds);
                else
                    missed++;
            }
            foreach (var c in byUser[u])
                c.Exists++;
        }
        latencies.Sort();
        double P(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        Console.WriteLine($"{target}: {deliveries} deliveries, {latencies.Count} EXISTS heard ({missed} not within 30 s): p50 {P(0.5):F1} ms, p99 {P(0.99):F1} ms, max {P(1):F1} ms");
        Console.WriteLine(string.Create(Inv, $"RESULT supported=1 sessions={sessions} open_seconds={opened:F1} kib_per_session={perSession:F1} heap_kib_per_session={(heapPerSession is { } hp ? hp.ToString("F1", Inv) : "n/a")} p50={P(0.5):F1} p99={P(0.99):F1} missed={missed}"));
        foreach (var c in conns)
            c.Dispose();
        return 0;
    }

    /// <summary>One message over SMTP; the clock starts when the message's final dot is sent.</summary>
    private static async Task<long> SendSmtpAsync(int port, string to, int n, CancellationToken ct)
    {
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        var s = tcp.GetStream();
        var reader = new StreamReader(s, Encoding.ASCII);
        async Task Expect(char code)
        {
            string? line;
            do
                line = await reader.ReadLineAsync(ct) ?? throw new IOException("SMTP closed");
            while (line.Length > 3 && line[3] == '-');
            if (line[0] != code)
                throw new IOException("SMTP: " + line);
        }
        await Expect('2');
        await s.WriteAsync(Encoding.ASCII.GetBytes("HELO load.test\r\n"), ct);
        await Expect('2');
        await s.WriteAsync(Encoding.ASCII.GetBytes($"MAIL FROM:<idle@load.test>\r\nRCPT TO:<{to}>\r\nDATA\r\n"), ct);
        await Expect('2');
        await Expect('2');
        await Expect('3');
        var t0 = Stopwatch.GetTimestamp();
        await s.WriteAsync(Encoding.ASCII.GetBytes($"Subject: idle {n}\r\n\r\nwake up\r\n.\r\n"), ct);
        await Expect('2');
        await s.WriteAsync(Encoding.ASCII.GetBytes("QUIT\r\n"), ct);
        return t0;
    }

    /// <summary>One message written into tmp/ and renamed into new/ (as an LDA does); the clock starts at the rename.</summary>
    private static long WriteIntoNew(string maildir, int n)
    {
        var name = $"{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.M{n}P{Environment.ProcessId}.load";
        var tmp = Path.Combine(maildir, "tmp", name);
        File.WriteAllText(tmp, $"Subject: idle {n}\r\n\r\nwake up\r\n");
        var t0 = Stopwatch.GetTimestamp();
        File.Move(tmp, Path.Combine(maildir, "new", name));
        return t0;
    }

    /// <summary>`memory --server-pid N`: a process tree's memory as it is and after SettledMemoryKiB (to check the IDLE row's samples).</summary>
    private static int Memory(int pid)
    {
        var before = TreeMemoryKiB(pid);
        var settled = SettledMemoryKiB(pid);
        Console.WriteLine($"{pid}: PSS {before.Pss / 1024} MiB, RSS {before.Rss / 1024} MiB; after a GC and 2 s: PSS {settled.Pss / 1024} MiB, RSS {settled.Rss / 1024} MiB");
        Console.WriteLine(string.Create(Inv, $"RESULT pss_kib={before.Pss} settled_pss_kib={settled.Pss}"));
        return 0;
    }

    /// <summary>Induced GCs before each memory sample (SettledMemoryKiB).</summary>
    private const int GcsPerSample = 5;

    /// <summary>
    /// TreeMemoryKiB after full GCs (<see cref="GcsPerSample"/>) in a .NET server, each induced
    /// through its diagnostic port as dotnet-gcdump does (an EventPipe session asking for
    /// GCHeapCollect), once the GC has given back what it freed: it decommits freed regions a step at a time, so the memory is sampled every
    /// half second until two samples are within 256 KiB (at most 15 s; a fixed two seconds left some
    /// runs' samples mid-way, and the IDLE row came out at 0.9 or even -3.0 KiB per session on a
    /// machine with a 32 MB L3). A process without a diagnostic port (Dovecot) is measured as it is.
    /// </summary>
    private static (long Pss, long Rss) SettledMemoryKiB(int pid)
    {
        if (pid > 0 && Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{pid}-*-socket").Any())
        {
            // Several GCs: the GC keeps a freed region committed until it has stayed free through a
            // few of them, so after one GC the memory of an earlier burst (the first logins' Argon2id
            // hash upgrades, tens of MiB each) stayed in the sample and left it later, while sessions
            // were being counted: -10 to -62 KiB per session in runs of 2026-12-02, old build and new.
            var providers = new[] { new EventPipeProvider("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, 0x800000 | 0x1) }; // GCHeapCollect | GC
            for (var gc = 0; gc < GcsPerSample; gc++)
            {
                using var session = new DiagnosticsClient(pid).StartEventPipeSession(providers, requestRundown: false);
                var drain = Task.Run(() => session.EventStream.CopyTo(Stream.Null));
                Thread.Sleep(500);
                session.Stop();
                drain.Wait(TimeSpan.FromSeconds(10));
            }
            var settled = TreeMemoryKiB(pid);
            for (var waited = 0; waited < 15_000; waited += 500)
            {
                Thread.Sleep(500);
                var now = TreeMemoryKiB(pid);
                var still = Math.Abs(now.Pss - settled.Pss) <= 256;
                settled = now;
                if (still && waited >= 1500)
                    break;
            }
            return settled;
        }
        return TreeMemoryKiB(pid);
    }

    /// <summary>
    /// dotnet_total_memory_bytes from a Mailward server's metrics page (the Admin listener's
    /// /metrics, prometheus-net's DotNetStats: GC.GetTotalMemory), read right after SettledMemoryKiB's
    /// full GC, so the live managed bytes; null without a metrics address (Dovecot).
    /// </summary>
    private static long? ManagedHeapBytes(string metrics)
    {
        if (metrics.Length == 0)
            return null;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var line in http.GetStringAsync(metrics).Result.Split('\n'))
            if (line.StartsWith("dotnet_total_memory_bytes ", StringComparison.Ordinal))
                return (long)double.Parse(line["dotnet_total_memory_bytes ".Length..], Inv);
        return null;
    }

    /// <summary>Memory of a process and all its descendants: PSS (shared pages divided among sharers) and RSS, KiB.</summary>
    private static (long Pss, long Rss) TreeMemoryKiB(int root)
    {
        if (root == 0)
            return (0, 0);
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                parents[pid] = int.Parse(fields[1], Inv);
            }
            catch (IOException)
            {
            }
        }
        long pss = 0, rss = 0;
        foreach (var pid in parents.Keys.Where(p => IsUnder(p, root, parents)))
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts[0] == "Pss:")
                        pss += long.Parse(parts[1], Inv);
                    else if (parts[0] == "Rss:")
                        rss += long.Parse(parts[1], Inv);
                }
            }
            catch (IOException)
            {
            }
        }
        return (pss, rss);
    }

    private static bool IsUnder(int pid, int root, Dictionary<int, int> parents)
    {
        for (var p = pid; p > 1; p = parents.GetValueOrDefault(p, 0))
            if (p == root)
                return true;
        return false;
    }

    /// <summary>
    /// A Maildir folder of generated mail in cur/ (already seen by an LDA, so neither server renames
    /// anything): plain messages, every fourth multipart/alternative, every tenth with an attachment,
    /// encoded-word subjects, and "needle" in one body in a hundred.
    /// </summary>
    private static int Fill(string maildir, int count)
    {
        foreach (var d in new[] { "cur", "new", "tmp" })
            Directory.CreateDirectory(Path.Combine(maildir, d));
        var filler = string.Join("\r\n", Enumerable.Range(0, 20).Select(i => $"Line {i} of a message body that is long enough to look like mail text."));
        var baseTime = 1_700_000_000L;
        for (var i = 0; i < count; i++)
        {
            var text = filler + (i % 100 == 7 ? "\r\nthe needle is here\r\n" : "\r\n");
            var sb = new StringBuilder();
            sb.Append($"Return-Path: <sender{i % 97}@remote.test>\r\n");
            sb.Append($"Message-ID: <{i}.bench@remote.test>\r\n");
            if (i > 0 && i % 3 == 0)
                sb.Append($"In-Reply-To: <{i - 1}.bench@remote.test>\r\nReferences: <{i - 1}.bench@remote.test>\r\n");
            sb.Append(string.Create(Inv, $"Date: {DateTimeOffset.FromUnixTimeSeconds(baseTime + i * 60):ddd, dd MMM yyyy HH:mm:ss} +0000\r\n"));
            sb.Append($"From: \"Sender {i % 97}\" <sender{i % 97}@remote.test>\r\n");
            sb.Append($"To: meta@bench.test, \"Other Person\" <other{i % 13}@bench.test>\r\n");
            if (i % 5 == 0)
                sb.Append("Cc: list@lists.remote.test\r\n");
            sb.Append(i % 7 == 0 ? $"Subject: =?UTF-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes($"Grüße Nummer {i}"))}?=\r\n" : $"Subject: Message number {i}\r\n");
            sb.Append("MIME-Version: 1.0\r\n");
            if (i % 10 == 0)
            {
                sb.Append("Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
                sb.Append(text).Append("--mix\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
                sb.Append(Convert.ToBase64String(new byte[300], Base64FormattingOptions.InsertLineBreaks)).Append("\r\n--mix--\r\n");
            }
            else if (i % 4 == 0)
            {
                sb.Append("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
                sb.Append(text).Append("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>").Append(text).Append("</p>\r\n--alt--\r\n");
            }
            else
                sb.Append("Content-Type: text/plain; charset=utf-8\r\n\r\n").Append(text);
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            File.WriteAllBytes(Path.Combine(maildir, "cur", $"{baseTime + i}.M{i}P1.bench,S={bytes.Length}:2,"), bytes);
        }
        Console.WriteLine($"{maildir}: {count} messages");
        Console.WriteLine($"RESULT messages={count}");
        return 0;
    }

    /// <summary>The same folder as fill, for the in-process store profile.</summary>
    internal static void FillQuiet(string maildir, int count)
    {
        var output = Console.Out;
        Console.SetOut(TextWriter.Null);
        try
        {
            Fill(maildir, count);
        }
        finally
        {
            Console.SetOut(output);
        }
    }

    private static int Unsupported(string what, string status)
    {
        Console.WriteLine($"{what}: the server answered {status}");
        Console.WriteLine("RESULT supported=0 rate=0 mbps=0 ms=0 first=0 hits=0");
        return 0;
    }

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    /// <summary>The tagged answer to a command: its status line, untagged responses, bytes received.</summary>
    private readonly record struct Answer(bool Ok, string Status, int Untagged, long Bytes, int Exists, int LastSearch);

    /// <summary>A minimal IMAP client connection: lines with literals skipped (and counted), tags A1, A2, ...
    /// A blocking connection (the round-trip rows) only ever makes synchronous socket calls, so its
    /// socket stays in blocking mode and the client thread waits in recv itself: an asynchronous read
    /// would add the client's own hops (socket engine, then a pool thread, then the waiting thread) to
    /// every round trip, the same for both servers, and blur the difference between them.</summary>
    private sealed class Conn : IDisposable
    {
        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly bool _blocking;
        private readonly byte[] _buffer = new byte[1 << 16];
        private int _start, _end, _tag;

        private Conn(Socket socket, bool blocking)
        {
            _socket = socket;
            _blocking = blocking;
            _stream = new NetworkStream(socket, ownsSocket: true);
        }

        public int Exists { get; set; }

        public static async Task<Conn> OpenAsync(IPEndPoint target, IPAddress? from, CancellationToken ct, bool blocking = false)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (from is not null)
                socket.Bind(new IPEndPoint(from, 0));
            if (blocking)
            {
                // Bounded by itself: a blocking read cannot hear the deadline's token.
                socket.ReceiveTimeout = socket.SendTimeout = 60_000;
                socket.Connect(target);
            }
            else
                await socket.ConnectAsync(target, ct);
            var c = new Conn(socket, blocking);
            var greeting = await c.LineAsync(ct);
            if (!greeting.StartsWith("* OK", StringComparison.Ordinal))
                throw new IOException("greeting: " + greeting);
            return c;
        }

        public async Task LoginAsync(string user, string password, CancellationToken ct)
        {
            var answer = await CommandAsync($"LOGIN \"{user}\" \"{password}\"", ct);
            if (!answer.Ok)
                throw new IOException("LOGIN: " + answer.Status);
        }

        public Task SendAsync(string text, CancellationToken ct)
        {
            if (!_blocking)
                return _stream.WriteAsync(Encoding.ASCII.GetBytes(text), ct).AsTask();
            ct.ThrowIfCancellationRequested();
            _socket.Send(Encoding.ASCII.GetBytes(text));
            return Task.CompletedTask;
        }

        public async Task<Answer> CommandAsync(string command, CancellationToken ct)
        {
            var tag = "A" + ++_tag;
            await SendAsync($"{tag} {command}\r\n", ct);
            int untagged = 0, exists = 0, search = 0;
            long bytes = 0;
            while (true)
            {
                var (line, literalBytes) = await ResponseAsync(ct);
                bytes += line.Length + literalBytes;
                if (line.StartsWith(tag + " ", StringComparison.Ordinal))
                {
                    var ok = line.AsSpan(tag.Length + 1).StartsWith("OK");
                    return new Answer(ok, line.Trim(), untagged, bytes, exists, search);
                }
                if (line.StartsWith("* ", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', 4);
                    if (parts.Length > 2 && parts[2] == "FETCH")
                        untagged++;
                    else if (parts.Length > 2 && parts[2].StartsWith("EXISTS", StringComparison.Ordinal))
                        exists = int.Parse(parts[1], Inv);
                    else if (parts[1].StartsWith("SEARCH", StringComparison.Ordinal))
                        search = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length - 2;
                }
            }
        }

        /// <summary>
        /// A command of the round-trip rows, all on the calling thread: no task and no string or split
        /// per reply line, so the client's own share of a round trip of tens of microseconds stays small
        /// (through the general path a SELECT again of Mailward took 0.083-0.095 ms where Python's
        /// socket client took 0.041, on 2026-12-02). Replies with a literal are refused, not misread.
        /// </summary>
        public Answer RoundTrip(string command)
        {
            if (!_blocking)
                throw new InvalidOperationException("round trips are timed on blocking connections");
            var tag = "A" + ++_tag;
            _socket.Send(Encoding.ASCII.GetBytes($"{tag} {command}\r\n"));
            Span<byte> prefix = stackalloc byte[tag.Length + 1];
            Encoding.ASCII.GetBytes(tag + " ", prefix);
            while (true)
            {
                var lf = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
                if (lf < 0)
                {
                    // Keep the partial line at the front, read more behind it.
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                    (_end, _start) = (_end - _start, 0);
                    if (_end == _buffer.Length)
                        throw new IOException("reply line longer than the buffer");
                    var n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
                    if (n == 0)
                        throw new IOException("closed");
                    _end += n;
                    continue;
                }
                var line = _buffer.AsSpan(_start, lf + 1);
                _start += lf + 1;
                if (line.EndsWith("}\r\n"u8))
                    throw new IOException("a literal in a round trip's reply: " + command);
                if (line.StartsWith(prefix))
                    return new Answer(line[prefix.Length..].StartsWith("OK"u8), Encoding.ASCII.GetString(line).Trim(), 0, 0, 0, 0);
            }
        }

        /// <summary>Reads until some session line says `* n EXISTS` with n at least <paramref name="count"/>; the time it arrived.</summary>
        public async Task<long> WaitExistsAsync(int count, CancellationToken ct)
        {
            while (true)
            {
                var line = await LineAsync(ct);
                var parts = line.Split(' ');
                if (parts.Length >= 3 && parts[0] == "*" && parts[2].StartsWith("EXISTS", StringComparison.Ordinal) && int.Parse(parts[1], Inv) >= count)
                    return Stopwatch.GetTimestamp();
            }
        }

        /// <summary>One response: its lines joined, with each literal's bytes skipped and counted.</summary>
        private async Task<(string Line, long LiteralBytes)> ResponseAsync(CancellationToken ct)
        {
            var line = await LineAsync(ct);
            long literal = 0;
            while (line.EndsWith("}\r\n", StringComparison.Ordinal))
            {
                var open = line.LastIndexOf('{');
                var n = long.Parse(line.AsSpan(open + 1, line.Length - open - 4).TrimEnd('+'), Inv);
                literal += n;
                await SkipAsync(n, ct);
                line = line[..open] + await LineAsync(ct);
            }
            return (line, literal);
        }

        private async Task SkipAsync(long n, CancellationToken ct)
        {
            while (n > 0)
            {
                if (_start == _end)
                    await FillAsync(ct);
                var take = (int)Math.Min(n, _end - _start);
                _start += take;
                n -= take;
            }
        }

        private async Task FillAsync(CancellationToken ct)
        {
            _start = 0;
            if (_blocking)
            {
                ct.ThrowIfCancellationRequested();
                _end = _socket.Receive(_buffer);
            }
            else
                _end = await _stream.ReadAsync(_buffer, ct);
            if (_end == 0)
                throw new IOException("closed");
        }

        public async Task<string> LineAsync(CancellationToken ct)
        {
            List<byte>? line = null;
            while (true)
            {
                if (_start == _end)
                    await FillAsync(ct);
                var span = _buffer.AsSpan(_start, _end - _start);
                var lf = span.IndexOf((byte)'\n');
                if (lf < 0)
                {
                    (line ??= new List<byte>(256)).AddRange(span);
                    _start = _end;
                    continue;
                }
                _start += lf + 1;
                if (line is null)
                    return Encoding.UTF8.GetString(span[..(lf + 1)]);
                line.AddRange(span[..(lf + 1)]);
                return Encoding.UTF8.GetString([.. line]);
            }
        }

        public void Dispose()
        {
            _stream.Dispose();
            _socket.Dispose();
        }
    }
}
