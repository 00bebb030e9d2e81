// EXPUNGE and MOVE never lose a message across a crash and never reuse a UID (issue 12,
// docs/mail-store.md "The UID list"): a child `mailward serve` serves four concurrent IMAP sessions
// on one mailbox doing APPEND, MOVE to INBOX.Archive and back, STORE and UID EXPUNGE, and is killed
// with SIGKILL three times, each at a random moment once the sessions are under way. Everything the
// server told the clients is recorded (APPENDUID, COPYUID, FETCH UID, UIDVALIDITY, UIDNEXT);
// afterwards every message whose APPEND was answered OK exists exactly once (none if its UID
// EXPUNGE was answered OK), none twice, no folder's UIDVALIDITY changed, no UID was handed out twice
// or named two messages, and UIDNEXT never went down.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Mailward.Core.MailStore;
using Mailward.Tests.Support;
using Xunit.Abstractions;

namespace Mailward.Tests.Imap;

public sealed partial class ImapCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Workers = 4;
    private const int Kills = 3;
    private static readonly string[] Folders = ["INBOX", "Archive"];

    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();

    // What the clients were told.
    private readonly ConcurrentDictionary<(string Folder, uint Uid), string> _told = new();     // UID → Message-ID
    private readonly ConcurrentDictionary<(string Folder, uint Uid), string> _handedOut = new(); // APPENDUID / COPYUID targets
    private readonly ConcurrentDictionary<string, uint> _validity = new();
    private readonly ConcurrentDictionary<string, uint> _uidNext = new();                       // the largest UIDNEXT seen
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentDictionary<string, bool> _appended = new();   // acknowledged
    private readonly ConcurrentDictionary<string, bool> _expunged = new();   // UID EXPUNGE acknowledged
    private readonly ConcurrentDictionary<string, bool> _expunging = new();  // UID EXPUNGE sent
    private readonly ConcurrentQueue<string> _errors = new(); // why sessions broke off (kills, mostly), for the output
    private int _moves;
    private int _acknowledged; // commands answered OK, all kinds

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    [GeneratedRegex(@"\[APPENDUID (\d+) (\d+)\]")]
    private static partial Regex AppendUid();

    [GeneratedRegex(@"\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\]")]
    private static partial Regex CopyUid();

    [GeneratedRegex(@"^\* \d+ FETCH \(.*\bUID (\d+)\b", RegexOptions.Singleline)]
    private static partial Regex FetchUid();

    [GeneratedRegex(@"Message-ID: <([^>]+)>")]
    private static partial Regex MessageId();

    [GeneratedRegex(@"^\* OK \[(UIDVALIDITY|UIDNEXT) (\d+)\]")]
    private static partial Regex SelectCode();

    private void Violation(string text)
    {
        if (_violations.Count < 50)
            _violations.Enqueue(text);
    }

    private static uint U(string s) => uint.Parse(s, CultureInfo.InvariantCulture);

    private static List<uint> Expand(string set)
    {
        var uids = new List<uint>();
        foreach (var part in set.Split(','))
        {
            var ends = part.Split(':');
            var (a, b) = (U(ends[0]), U(ends[^1]));
            for (var u = Math.Min(a, b); u <= Math.Max(a, b); u++)
                uids.Add(u);
        }
        return uids;
    }

    /// <summary>A UID a response named for a message: it must always name that message.</summary>
    private void Told(string folder, uint uid, string id)
    {
        var was = _told.GetOrAdd((folder, uid), id);
        if (was != id)
            Violation($"{folder} UID {uid} was told for {was} and now for {id}");
    }

    /// <summary>A UID the server assigned (APPENDUID, COPYUID): new, at or above the UIDNEXT seen before the command was sent.</summary>
    private void HandedOut(string folder, uint uid, string id, uint uidNextBefore)
    {
        if (!_handedOut.TryAdd((folder, uid), id))
            Violation($"{folder} UID {uid} handed out for {id}, but it was handed out before for {_handedOut[(folder, uid)]}");
        if (uid < uidNextBefore)
            Violation($"{folder} UID {uid} handed out for {id}, below UIDNEXT {uidNextBefore} seen before the command");
        Told(folder, uid, id);
        _uidNext.AddOrUpdate(folder, uid + 1, (_, old) => Math.Max(old, uid + 1)); // a later command's UIDs are above it

    }

    private void CheckValidity(string folder, uint validity)
    {
        var was = _validity.GetOrAdd(folder, validity);
        if (was != validity)
            Violation($"{folder}'s UIDVALIDITY changed from {was} to {validity}");
    }

    /// <summary>One worker's session: its own messages (Message-ID "wN-M@crash.test") and where it last saw them.</summary>
    private sealed class Worker(int index)
    {
        public int Index { get; } = index;
        public int Next { get; set; }
        public Dictionary<string, (string Folder, uint Uid)> Where { get; } = [];
        public string? Selected { get; set; }
    }

    [Fact]
    public async Task Append_move_store_expunge_survive_repeated_SIGKILL_without_loss_duplicate_or_reused_uid()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "joe@hosted.test", "pw")).Ok();
        var smtp = ServerProcesses.FreePort();
        var imap = ServerProcesses.FreePort();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => WorkAsync(new Worker(w), imap, stop.Token))).ToArray();

        var rng = new Random(20261129);
        var clock = Stopwatch.StartNew();
        for (var round = 0; round < Kills; round++)
        {
            using var server = StartServer(smtp, imap);
            await ServerProcesses.WaitListeningAsync(imap);
            // A fresh process on a loaded machine may take seconds to answer its first LOGIN: the
            // kill comes at a random moment after the sessions are under way (or after 15 s).
            var progress = Volatile.Read(ref _acknowledged);
            for (var waited = Stopwatch.StartNew(); Volatile.Read(ref _acknowledged) < progress + 10 && waited.Elapsed < TimeSpan.FromSeconds(15);)
                await Task.Delay(20);
            await Task.Delay(rng.Next(100, 1500));
            server.Kill(); // SIGKILL: no shutdown, no flush
            await server.WaitForExitAsync();
        }
        stop.Cancel();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
        var killed = clock.Elapsed;

        // One clean start, a fresh client's look at both folders, then a graceful stop.
        using (var server = StartServer(smtp, imap))
        {
            await ServerProcesses.WaitListeningAsync(imap);
            var last = new Worker(Workers);
            using (var session = await ImapConnection.ConnectAsync(imap))
            {
                await LoginAndScanAsync(session, last);
                await session.CommandAsync("LOGOUT");
            }
            using (var term = Process.Start("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)]))
                await term.WaitForExitAsync();
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        // The store itself, with the server stopped.
        var user = _m.Store.FindUser("joe", "hosted.test")!;
        var store = TestMailStores.Store(new MailStoreLayout(_m.MailStore, 100));
        var copies = new Dictionary<string, int>();
        foreach (var folder in Folders)
        {
            using var box = await store.OpenAsync(MailboxOwner.Of(user), folder);
            CheckValidity(folder, box.UidValidity);
            if (box.UidNext < _uidNext.GetValueOrDefault(folder))
                Violation($"{folder}'s UIDNEXT is {box.UidNext}, below {_uidNext[folder]} seen earlier");
            foreach (var e in box.Entries)
            {
                using var reader = box.OpenMessage(e.Uid)!;
                var buffer = new byte[8192];
                var text = Encoding.ASCII.GetString(buffer, 0, reader.Read(buffer));
                var id = MessageId().Match(text).Groups[1].Value;
                copies[id] = copies.GetValueOrDefault(id) + 1;
                if (_told.TryGetValue((folder, e.Uid), out var was) && was != id)
                    Violation($"{folder} UID {e.Uid} holds {id}, but the clients were told it is {was}");
            }
        }
        foreach (var (id, n) in copies.Where(c => c.Value > 1))
            Violation($"{id} is stored {n} times");
        foreach (var id in _appended.Keys)
        {
            var n = copies.GetValueOrDefault(id);
            if (_expunged.ContainsKey(id) ? n != 0 : !_expunging.ContainsKey(id) && n != 1)
                Violation($"{id}: APPEND answered OK{(_expunged.ContainsKey(id) ? ", UID EXPUNGE answered OK" : "")}, stored {n} times");
        }

        output.WriteLine($"{Kills} kills in {killed.TotalSeconds:F1} s, checked by {clock.Elapsed.TotalSeconds:F1} s: {_appended.Count} appends, {_moves} moves, {_expunged.Count} expunges acknowledged; "
            + $"{copies.Values.Sum()} messages stored; {_told.Count} UIDs told");
        foreach (var e in _errors.Distinct().Take(8))
            output.WriteLine("sessions broke off: " + e);
        Assert.True(_violations.IsEmpty, string.Join("\n", _violations));
        Assert.True(_appended.Count >= 20 && _moves >= 5 && !_expunged.IsEmpty,
            $"the sessions did too little to test anything: {_appended.Count} appends, {_moves} moves, {_expunged.Count} expunges");
    }

    private Process StartServer(int smtp, int imap) =>
        _servers.Start(_m.Data, smtp, "--Delivery:Enabled=false", $"--Imap:Port={imap}", "--Imap:FailedLoginDelayMilliseconds=0");

    /// <summary>A worker's loop: connect, learn where its messages are, then random operations until the connection dies; again until told to stop.</summary>
    private async Task WorkAsync(Worker w, int port, CancellationToken stop)
    {
        var rng = new Random(w.Index * 7919 + 1);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var session = await ImapConnection.ConnectAsync(port);
                await LoginAndScanAsync(session, w);
                while (!stop.IsCancellationRequested)
                    await OperateAsync(session, w, rng);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or ImapConnection.Refused)
            {
                if (_errors.Count < 1000)
                    _errors.Enqueue(e.GetType().Name + ": " + e.Message);
                await Task.Delay(30, CancellationToken.None);
            }
        }
    }

    private async Task LoginAndScanAsync(ImapConnection session, Worker w)
    {
        await session.ExpectOkAsync("LOGIN joe@hosted.test pw");
        w.Where.Clear();
        foreach (var folder in new[] { "Archive", "INBOX" })
            await SelectAsync(session, w, folder, scan: true);
    }

    private static string Wire(string folder) => folder == "INBOX" ? "INBOX" : "INBOX." + folder;

    private async Task SelectAsync(ImapConnection session, Worker w, string folder, bool scan = false)
    {
        var before = _uidNext.GetValueOrDefault(folder);
        var (untagged, _) = await session.ExpectOkAsync("SELECT " + Wire(folder));
        w.Selected = folder;
        foreach (var r in untagged)
        {
            if (SelectCode().Match(r) is not { Success: true } m)
                continue;
            var value = U(m.Groups[2].Value);
            if (m.Groups[1].Value == "UIDVALIDITY")
            {
                CheckValidity(folder, value);
            }
            else
            {
                if (value < before)
                    Violation($"SELECT {folder}: UIDNEXT {value}, below {before} seen before the command");
                _uidNext.AddOrUpdate(folder, value, (_, old) => Math.Max(old, value));
            }
        }
        if (scan)
        {
            var (fetched, _) = await session.ExpectOkAsync("UID FETCH 1:* (UID BODY.PEEK[])");
            foreach (var r in fetched)
                if (FetchUid().Match(r) is { Success: true } f && MessageId().Match(r) is { Success: true } id)
                {
                    Told(folder, U(f.Groups[1].Value), id.Groups[1].Value);
                    if (id.Groups[1].Value.StartsWith($"w{w.Index}-", StringComparison.Ordinal))
                        w.Where[id.Groups[1].Value] = (folder, U(f.Groups[1].Value));
                }
        }
    }

    private async Task OperateAsync(ImapConnection session, Worker w, Random rng)
    {
        await OperateOnceAsync(session, w, rng);
        Interlocked.Increment(ref _acknowledged); // reached only when the operation's commands were answered
    }

    private async Task OperateOnceAsync(ImapConnection session, Worker w, Random rng)
    {
        var op = rng.Next(10);
        var mine = w.Where.Where(p => p.Value.Folder == w.Selected).Select(p => (Id: p.Key, p.Value.Uid)).ToList();
        if (op < 4 || mine.Count == 0)
        {
            // APPEND to the selected folder.
            var id = $"w{w.Index}-{w.Next++}@crash.test";
            var body = Encoding.ASCII.GetBytes($"Message-ID: <{id}>\r\nSubject: crash {id}\r\n\r\n{new string('x', rng.Next(10, 2000))}\r\n");
            var folder = w.Selected!;
            var before = _uidNext.GetValueOrDefault(folder);
            var (_, tagged) = await session.CommandAsync($"APPEND {Wire(folder)} {{{body.Length}+}}", body);
            if (!tagged.Contains(" OK ", StringComparison.Ordinal))
                throw new InvalidOperationException($"APPEND refused: {tagged}");
            _appended[id] = true;
            if (AppendUid().Match(tagged) is { Success: true } m)
            {
                CheckValidity(folder, U(m.Groups[1].Value));
                HandedOut(folder, U(m.Groups[2].Value), id, before);
                w.Where[id] = (folder, U(m.Groups[2].Value));
            }
            else
            {
                Violation($"APPEND answered without APPENDUID: {tagged}");
            }
            return;
        }
        var (pick, uid) = mine[rng.Next(mine.Count)];
        if (op < 7)
        {
            // MOVE to the other folder (RFC 6851): the untagged COPYUID names the new UID.
            var to = w.Selected == "INBOX" ? "Archive" : "INBOX";
            var before = _uidNext.GetValueOrDefault(to);
            var (untagged, tagged) = await session.CommandAsync($"UID MOVE {uid} {Wire(to)}");
            if (!tagged.Contains(" OK ", StringComparison.Ordinal))
                throw new InvalidOperationException($"MOVE refused: {tagged}");
            w.Where.Remove(pick);
            foreach (var r in untagged)
                if (CopyUid().Match(r) is { Success: true } m)
                {
                    CheckValidity(to, U(m.Groups[1].Value));
                    var (from, into) = (Expand(m.Groups[2].Value), Expand(m.Groups[3].Value));
                    if (from is not [var f] || f != uid || into.Count != 1)
                        Violation($"UID MOVE {uid}: {r}");
                    else
                    {
                        HandedOut(to, into[0], pick, before);
                        w.Where[pick] = (to, into[0]);
                    }
                }
            Interlocked.Increment(ref _moves);
            await SelectAsync(session, w, rng.Next(3) == 0 ? to : w.Selected!);
        }
        else if (op < 9)
        {
            var flag = rng.Next(3) switch { 0 => "\\Seen", 1 => "\\Flagged", _ => "\\Answered" };
            await session.ExpectOkAsync($"UID STORE {uid} {(rng.Next(2) == 0 ? "+" : "-")}FLAGS ({flag})");
        }
        else
        {
            // UID EXPUNGE of one of this worker's messages (RFC 4315): no other session's \Deleted is touched.
            await session.ExpectOkAsync($"UID STORE {uid} +FLAGS.SILENT (\\Deleted)");
            _expunging[pick] = true;
            var (_, tagged) = await session.CommandAsync($"UID EXPUNGE {uid}");
            if (tagged.Contains(" OK ", StringComparison.Ordinal))
            {
                _expunged[pick] = true;
                w.Where.Remove(pick);
            }
        }
    }

    /// <summary>A raw IMAP client over a socket: tagged commands, responses with their literals inline.</summary>
    private sealed class ImapConnection : IDisposable
    {
        private readonly TcpClient _tcp;
        private readonly Stream _stream;
        private readonly byte[] _buffer = new byte[65536];
        private int _start;
        private int _end;
        private int _tag;

        public sealed class Refused(string message) : Exception(message);

        private ImapConnection(TcpClient tcp)
        {
            _tcp = tcp;
            _stream = tcp.GetStream();
        }

        public static async Task<ImapConnection> ConnectAsync(int port)
        {
            var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync(IPAddress.Loopback, port);
            }
            catch
            {
                tcp.Dispose();
                throw;
            }
            var c = new ImapConnection(tcp);
            try
            {
                var greeting = await c.ReadResponseAsync();
                if (!greeting.StartsWith("* OK", StringComparison.Ordinal))
                    throw new Refused("greeting: " + greeting);
                return c;
            }
            catch
            {
                c.Dispose();
                throw;
            }
        }

        /// <summary>Sends a command (and, for "{N+}", its literal); returns the untagged responses and the tagged one.</summary>
        public async Task<(List<string> Untagged, string Tagged)> CommandAsync(string command, byte[]? literal = null)
        {
            var tag = "c" + ++_tag;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var bytes = Encoding.ASCII.GetBytes($"{tag} {command}\r\n");
            if (literal is not null)
                bytes = [.. bytes, .. literal, .. "\r\n"u8];
            await _stream.WriteAsync(bytes, timeout.Token);
            var untagged = new List<string>();
            while (true)
            {
                var r = await ReadResponseAsync(timeout.Token);
                if (r.StartsWith(tag + " ", StringComparison.Ordinal))
                    return (untagged, r);
                if (r.StartsWith("* BYE", StringComparison.Ordinal) && command != "LOGOUT")
                    throw new IOException("server said " + r);
                untagged.Add(r);
            }
        }

        public async Task<(List<string> Untagged, string Tagged)> ExpectOkAsync(string command)
        {
            var (untagged, tagged) = await CommandAsync(command);
            if (!tagged.Contains(" OK ", StringComparison.Ordinal))
                throw new Refused($"{command}: {tagged}");
            return (untagged, tagged);
        }

        private async Task<string> ReadResponseAsync(CancellationToken ct = default)
        {
            var sb = new StringBuilder();
            while (true)
            {
                var line = await ReadLineAsync(ct);
                sb.Append(line);
                var open = line.LastIndexOf('{');
                if (!line.EndsWith('}') || open < 0 || !int.TryParse(line.AsSpan(open + 1, line.Length - open - 2), out var n))
                    return sb.ToString();
                sb.Append("\r\n").Append(Encoding.Latin1.GetString(await ReadExactlyAsync(n, ct)));
            }
        }

        private async Task<string> ReadLineAsync(CancellationToken ct)
        {
            var sb = new StringBuilder();
            while (true)
            {
                if (_start == _end)
                    await FillAsync(ct);
                var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                var upto = lf < 0 ? _end : lf;
                sb.Append(Encoding.Latin1.GetString(_buffer, _start, upto - _start));
                _start = lf < 0 ? _end : lf + 1;
                if (lf >= 0)
                    return sb.ToString().TrimEnd('\r');
            }
        }

        private async Task<byte[]> ReadExactlyAsync(int n, CancellationToken ct)
        {
            var result = new byte[n];
            var got = 0;
            while (got < n)
            {
                if (_start == _end)
                    await FillAsync(ct);
                var take = Math.Min(n - got, _end - _start);
                Array.Copy(_buffer, _start, result, got, take);
                _start += take;
                got += take;
            }
            return result;
        }

        private async Task FillAsync(CancellationToken ct)
        {
            _start = 0;
            _end = await _stream.ReadAsync(_buffer, ct);
            if (_end == 0)
                throw new IOException("connection closed");
        }

        public void Dispose() => _tcp.Dispose();
    }
}
