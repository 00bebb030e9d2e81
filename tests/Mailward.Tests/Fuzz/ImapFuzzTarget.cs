// The IMAP fuzz targets. (a) The command parser alone: any sequence of lines and literals of any
// announced size; it must never throw and never hold more than its limits allow. (b) A whole
// session on a real mailbox fed arbitrary bytes: it must end, throw nothing, greet with "* OK",
// answer each command at most once, remove messages only through EXPUNGE, CLOSE, MOVE or DELETE,
// never reuse a UID (UIDNEXT never goes down, a UID never names a second message, an expunged UID
// never comes back), and allocate in proportion to its input. The tests below run both on a seed
// corpus (Fuzz/imap-seeds and the IMAP transcripts' client bytes) and deterministic mutations of it.
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.Passwords;
using Mailward.Protocols.Imap;
using Mailward.Tests.Imap;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Mailward.Tests.Fuzz;

public static class ImapParserFuzzTarget
{
    /// <summary>
    /// Feeds the input to one parser as CRLF lines; each literal it asks for takes the next octets
    /// (as many as there are). Between commands the parser is reset; after a complete one, when the
    /// input's length is odd, sometimes not (more arguments for it), a sequence a session never makes. Throws when a bound breaks.
    /// </summary>
    public static void Run(byte[] input, ImapParserLimits limits)
    {
        var text = Encoding.UTF8.GetString(input);
        var parser = new ImapCommandParser(limits);
        var pos = 0;
        var commands = 0;
        var literalsAsked = 0;
        while (pos < text.Length)
        {
            var end = text.IndexOf("\r\n", pos, StringComparison.Ordinal);
            var line = end < 0 ? text[pos..] : text[pos..end];
            pos = end < 0 ? text.Length : end + 2;
            var step = parser.Feed(line);
            if (step.Status == ParseStatus.NeedLiteral)
            {
                if (step.LiteralSize is < 0 or >= 1_000_000_000_000)
                    throw new InvalidOperationException($"literal size {step.LiteralSize} out of range");
                if (++literalsAsked > limits.MaxLiterals)
                    throw new InvalidOperationException($"asked for {literalsAsked} literals in one command");
                var size = (int)Math.Min(step.LiteralSize, text.Length - pos);
                parser.AddLiteral(text.Substring(pos, size));
                pos += size;
                continue;
            }
            if (step.Status == ParseStatus.Complete)
            {
                if (parser.Tag is not { Length: > 0 } tag || tag.Any(c => c <= ' ' || c >= 0x7f || "(){%*\"\\+".Contains(c, StringComparison.Ordinal)))
                    throw new InvalidOperationException($"complete command with tag \"{parser.Tag}\"");
                if (parser.Name.Length == 0)
                    throw new InvalidOperationException("complete command without a name");
                var (depth, tokens, literals) = Measure(parser.Arguments, 0);
                if (depth > limits.MaxDepth || tokens > limits.MaxTokens || literals > limits.MaxLiterals)
                    throw new InvalidOperationException($"arguments nested {depth} deep, {tokens} tokens, {literals} literals: over {limits}");
            }
            else if (step.Error.Length == 0)
            {
                throw new InvalidOperationException("an error without a reason");
            }
            if (step.Status == ParseStatus.Error || input.Length % 2 == 0 || ++commands % 3 != 0)
            {
                parser.Reset();
                literalsAsked = 0;
            }
        }
    }

    private static (int Depth, int Tokens, int Literals) Measure(IReadOnlyList<ImapToken> items, int depth)
    {
        var (deepest, tokens, literals) = (depth, 0, 0);
        foreach (var t in items)
        {
            tokens++;
            if (t.IsLiteral)
                literals++;
            if (t.Kind == ImapTokenKind.List)
            {
                var inner = Measure(t.Items, depth + 1);
                deepest = Math.Max(deepest, inner.Depth);
                tokens += inner.Tokens;
                literals += inner.Literals;
            }
        }
        return (deepest, tokens, literals);
    }
}

public sealed partial class ImapFuzzTarget : IDisposable
{
    private const int Messages = 3;
    private const string Address = "joe@hosted.test";
    private static readonly string[] Kept = ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"];

    private readonly TempFolder _tmp = new();
    private readonly SqliteAccountStore _accounts;
    private readonly ImapServices _services;
    private readonly MailboxOwner _owner;
    private readonly string _maildir;
    private readonly Dictionary<string, FolderHistory> _history = new(StringComparer.Ordinal);
    private int _refills;

    /// <summary>Small limits, so that the mutations reach them.</summary>
    public static ImapOptions Options { get; } = new()
    {
        Hostname = "mail.test",
        FailedLoginDelay = TimeSpan.Zero,
        MaxBadCommands = 1000,
        MaxLineBytes = 8192,
        MaxPreLoginLineBytes = 1024,
        MaxLiteralBytes = 4096,
        AppendLimit = 16384,
        ParserLimits = new ImapParserLimits(MaxDepth: 8, MaxLiterals: 4, MaxTokens: 500),
        LoginTimeout = TimeSpan.FromSeconds(5),
        AutologoutTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>What the runs so far saw of one folder (while its UIDVALIDITY stays).</summary>
    private sealed class FolderHistory(uint validity)
    {
        public uint Validity { get; } = validity;
        public uint UidNext { get; set; }
        public Dictionary<uint, string> Named { get; } = [];
        public HashSet<uint> Gone { get; } = [];
        public bool Absent { get; set; } // a snapshot did not find the folder: deleted, or renamed away
    }

    /// <summary>One folder after a sync: its UIDVALIDITY, UIDNEXT and each UID's message (its name up to ':').</summary>
    private sealed record FolderState(uint Validity, uint UidNext, Dictionary<uint, string> Uids);

    [GeneratedRegex(@"\{(\d+)\}$")]
    private static partial Regex LiteralAtEnd();

    [GeneratedRegex(@"^(\S+) (OK|NO|BAD)( |$)")]
    private static partial Regex Tagged();

    [GeneratedRegex(@"^\S+ OK (?:\[[^\]]*\] )?([A-Z]+) completed$")]
    private static partial Regex Completed();

    [GeneratedRegex(@"\[APPENDUID (\d+) (\d+)\]")]
    private static partial Regex AppendUid();

    [GeneratedRegex(@"\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\]")]
    private static partial Regex CopyUid();

    [GeneratedRegex(@"reason=(.*)$")]
    private static partial Regex EndReason();

    public ImapFuzzTarget()
    {
        _accounts = new SqliteAccountStore($"Data Source={_tmp.Combine("accounts.db")}");
        var layout = new MailStoreLayout(_tmp.Combine("domains"));
        var hasher = new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 });
        SmtpFixture.Apply(new AccountAdmin(_accounts, layout, hasher), _accounts, ["user " + Address]);
        var user = _accounts.FindUser("joe", "hosted.test")!;
        _owner = MailboxOwner.Of(user);
        _maildir = MailStoreLayout.MaildirOf(layout.Resolve(user.Directory));
        _services = new ImapServices(new LoginService(_accounts, hasher, new LoginOptions { MaxFailuresPerClient = int.MaxValue }),
            TestMailStores.Store(layout), new MailboxEvents(), new ImapUserConnections(10));
        // Folders made in one second share a UIDVALIDITY; distinct ones tell which folder a COPYUID or APPENDUID names.
        for (var i = 0; i < Kept.Length; i++)
        {
            if (i > 0)
                _services.Store.CreateFolderAsync(_owner, Kept[i]).GetAwaiter().GetResult();
            new UidList(1000 + (uint)i, 1).Write(FolderDir(Kept[i]));
        }
        Refill();
    }

    /// <summary>Every run so far: the largest share of the allocation bound a run used, for the test's output.</summary>
    public double MaxShareOfMemoryBound { get; private set; }

    private string FolderDir(string folder) => folder == "INBOX" ? _maildir : Path.Combine(_maildir, "." + folder.Replace('/', '.'));

    private int Count(string folder) =>
        new[] { "new", "cur" }.Sum(d => Directory.Exists(Path.Combine(FolderDir(folder), d)) ? Directory.GetFiles(Path.Combine(FolderDir(folder), d)).Length : 0);

    /// <summary>
    /// Back to three messages in INBOX and the special-use folders empty, after runs moved, deleted
    /// or added mail or made folders. Files are removed behind the store's back; their names are
    /// never used again, so the UID lists' UIDNEXT and history stay valid.
    /// </summary>
    private void Refill()
    {
        foreach (var dir in Directory.GetDirectories(_maildir, ".*"))
        {
            var name = Path.GetFileName(dir)[1..];
            if (!Kept.Contains(name, StringComparer.Ordinal))
            {
                Directory.Delete(dir, recursive: true);
                _history.Remove(name.Replace('.', '/'));
            }
        }
        foreach (var folder in Kept)
            foreach (var d in new[] { "new", "cur" })
                if (Directory.Exists(Path.Combine(FolderDir(folder), d)))
                    foreach (var f in Directory.GetFiles(Path.Combine(FolderDir(folder), d)))
                        File.Delete(f);
        _refills++;
        for (var i = 0; i < Messages; i++)
        {
            using var body = new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {i}\r\nMessage-ID: <{_refills}.{i}@fuzz.test>\r\n\r\nline {i}\r\n"));
            MaildirWriter.Deliver(_maildir, $"{1700000000 + i}.M{_refills}R{i}P1", "mail.test", "s@remote.test", Address, body);
        }
    }

    private bool NeedsRefill()
    {
        if (Count("INBOX") != Messages)
            return true;
        var folders = Directory.GetDirectories(_maildir, ".*").Select(d => Path.GetFileName(d)[1..]).ToList();
        return folders.Any(f => !Kept.Contains(f, StringComparer.Ordinal)) || Kept.Skip(1).Any(f => Count(f) > 0);
    }

    private async Task<Dictionary<string, FolderState>> SnapshotAsync()
    {
        var states = new Dictionary<string, FolderState>(StringComparer.Ordinal);
        foreach (var folder in await _services.Store.ListFoldersAsync(_owner))
        {
            using var box = await _services.Store.OpenAsync(_owner, folder);
            states[folder] = new FolderState(box.UidValidity, box.UidNext, box.Entries.ToDictionary(e => e.Uid, e => e.Pop3Uidl));
        }
        return states;
    }

    /// <summary>Runs one input; throws when an invariant breaks.</summary>
    public async Task RunAsync(byte[] input)
    {
        if (NeedsRefill())
            Refill();
        var before = await SnapshotAsync();
        Remember(before, "before the run", []);
        var logger = new EndLogger();
        using var session = new ImapSession(Options, _services, logger);
        var allocated = GC.GetTotalAllocatedBytes();
        var bytes = await DuplexStream.ConverseAsync(
            server => session.RunAsync(server, new ImapSessionInfo("F", IPAddress.Loopback, IPAddress.Loopback), CancellationToken.None), input);
        allocated = GC.GetTotalAllocatedBytes() - allocated;
        var text = Encoding.Latin1.GetString(bytes);

        if (!text.StartsWith("* OK ", StringComparison.Ordinal))
            throw new InvalidOperationException($"the session did not greet with \"* OK\": {text[..Math.Min(60, text.Length)]}");
        var responses = Responses(text);
        CheckTags(input, responses);
        if (logger.Reason is not { } reason)
            throw new InvalidOperationException("the session did not log its end");
        // An in-memory pipe never fails: a session that ends with "connection lost" failed on its own.
        if (reason.StartsWith("connection lost", StringComparison.Ordinal)
            && reason is not ("connection lost: uidvalidity changed" or "connection lost: the connection ended inside the message literal"))
            throw new InvalidOperationException($"the session ended with \"{reason}\" on a connection that cannot fail");

        var completed = responses.Select(r => Completed().Match(r)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var after = await SnapshotAsync();
        CheckMessagesKept(before, after, completed);
        CheckToldUids(before, responses);
        Remember(after, "after the run", completed);

        // Bounded memory: what one run allocates is a constant plus a share of each input octet
        // (a login's password hash costs 64 KiB; literals are read within Imap:MaxLiteralBytes).
        var bound = (32L << 20) + 16384L * input.Length;
        MaxShareOfMemoryBound = Math.Max(MaxShareOfMemoryBound, (double)allocated / bound);
        if (allocated > bound)
            throw new InvalidOperationException($"the run allocated {allocated} bytes for {input.Length} input octets");
    }

    /// <summary>The response lines (RFC 9051 §7), a literal inside one replaced by "{N}" and its octets skipped.</summary>
    private static List<string> Responses(string text)
    {
        var lines = new List<string>();
        var current = new StringBuilder();
        var pos = 0;
        while (pos < text.Length)
        {
            var end = text.IndexOf("\r\n", pos, StringComparison.Ordinal);
            if (end < 0)
                throw new InvalidOperationException($"the output does not end with CRLF: ...{text[Math.Max(pos, text.Length - 60)..]}");
            var line = text[pos..end];
            pos = end + 2;
            current.Append(line);
            if (LiteralAtEnd().Match(line) is { Success: true } m)
            {
                var n = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                if (pos + n > text.Length)
                    throw new InvalidOperationException($"a literal of {n} octets runs past the end of the output: {line}");
                pos += n;
                continue;
            }
            lines.Add(current.ToString());
            current.Clear();
        }
        if (current.Length > 0)
            throw new InvalidOperationException("the output ends inside a response");
        return lines;
    }

    /// <summary>Every tagged response answers a command: its tag starts no more of the client's lines than it has answers.</summary>
    private static void CheckTags(byte[] input, List<string> responses)
    {
        var starts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in Encoding.Latin1.GetString(input).Split('\r', '\n'))
        {
            var tag = line.Split(' ', 2)[0];
            starts[tag] = starts.GetValueOrDefault(tag) + 1;
        }
        var answered = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in responses)
        {
            if (r.StartsWith("* ", StringComparison.Ordinal) || r.StartsWith('+'))
                continue;
            var m = Tagged().Match(r);
            if (!m.Success)
                throw new InvalidOperationException($"neither untagged, continuation nor tagged: \"{r}\"");
            var tag = m.Groups[1].Value;
            answered[tag] = answered.GetValueOrDefault(tag) + 1;
            if (answered[tag] > starts.GetValueOrDefault(tag))
                throw new InvalidOperationException($"tag {tag} answered {answered[tag]} times, sent at most {starts.GetValueOrDefault(tag)} times");
        }
    }

    /// <summary>A message leaves a folder only by EXPUNGE, CLOSE, MOVE, DELETE or RENAME, and leaves the mailbox only by EXPUNGE, CLOSE or DELETE.</summary>
    private static void CheckMessagesKept(Dictionary<string, FolderState> before, Dictionary<string, FolderState> after, HashSet<string> completed)
    {
        var everywhere = after.Values.SelectMany(s => s.Uids.Values).ToHashSet(StringComparer.Ordinal);
        foreach (var (folder, state) in before)
        {
            var now = after.TryGetValue(folder, out var a) ? a.Uids.Values.ToHashSet(StringComparer.Ordinal) : [];
            var left = state.Uids.Values.Where(k => !now.Contains(k)).ToList();
            if (left.Count > 0 && !completed.Overlaps(["EXPUNGE", "CLOSE", "MOVE", "DELETE", "RENAME"]))
                throw new InvalidOperationException($"{left.Count} messages left {folder} without EXPUNGE, CLOSE, MOVE, DELETE or RENAME: {string.Join(' ', left)}");
            var lost = left.Where(k => !everywhere.Contains(k)).ToList();
            // A MOVE onto the folder a message is in copies it under a new name and expunges the old one (RFC 6851 allows it): the count stays.
            var renamedByMove = completed.Contains("MOVE") && after.Values.Sum(a => a.Uids.Count) >= before.Values.Sum(b => b.Uids.Count);
            if (lost.Count > 0 && !completed.Overlaps(["EXPUNGE", "CLOSE", "DELETE"]) && !renamedByMove)
                throw new InvalidOperationException($"{lost.Count} messages of {folder} are gone from every folder without EXPUNGE, CLOSE or DELETE: {string.Join(' ', lost)}");
        }
    }

    /// <summary>A UID the session hands out (APPENDUID, COPYUID) is new: at or above the folder's UIDNEXT before the run, and told once.</summary>
    private static void CheckToldUids(Dictionary<string, FolderState> before, List<string> responses)
    {
        var told = new HashSet<(uint, uint)>();
        foreach (var r in responses)
        {
            var uids = new List<(uint Validity, uint Uid)>();
            foreach (Match m in AppendUid().Matches(r))
                uids.Add((uint.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), uint.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
            foreach (Match m in CopyUid().Matches(r))
            {
                var validity = uint.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                uids.AddRange(Expand(m.Groups[3].Value).Select(u => (validity, u)));
            }
            foreach (var (validity, uid) in uids)
            {
                var folders = before.Where(f => f.Value.Validity == validity).ToList();
                if (folders.Count > 0 && uid < folders.Min(f => f.Value.UidNext))
                    throw new InvalidOperationException(
                        $"\"{r}\": UID {uid} handed out in {string.Join(',', folders.Select(f => f.Key))}, whose UIDNEXT was {folders.Min(f => f.Value.UidNext)}");
                if (folders.Count <= 1 && !told.Add((validity, uid)))
                    throw new InvalidOperationException($"\"{r}\": UID {uid} of UIDVALIDITY {validity} handed out twice");
            }
        }
    }

    private static IEnumerable<uint> Expand(string set)
    {
        foreach (var part in set.Split(','))
        {
            var ends = part.Split(':').Select(p => uint.Parse(p, CultureInfo.InvariantCulture)).ToArray();
            var (lo, hi) = (Math.Min(ends[0], ends[^1]), Math.Max(ends[0], ends[^1]));
            for (var u = lo; u <= hi && u - lo < 10_000; u++)
                yield return u;
        }
    }

    /// <summary>Checks a snapshot against what earlier ones saw, then adds it to the history.</summary>
    private void Remember(Dictionary<string, FolderState> states, string when, HashSet<string> completed)
    {
        foreach (var (folder, state) in states)
        {
            if (_history.TryGetValue(folder, out var h) && h.Validity != state.Validity)
            {
                // Only a folder deleted or renamed away and made again may have a new UIDVALIDITY; a new
                // one is larger (RFC 9051 §2.3.1.1), one renamed onto the name keeps its own.
                var renamed = completed.Contains("RENAME");
                if (!(h.Absent || renamed || completed.Contains("DELETE")) || (state.Validity < h.Validity && !renamed))
                    throw new InvalidOperationException($"{when}: {folder}'s UIDVALIDITY went from {h.Validity} to {state.Validity}");
                h = null;
            }
            h ??= _history[folder] = new FolderHistory(state.Validity);
            if (state.UidNext < h.UidNext)
                throw new InvalidOperationException($"{when}: {folder}'s UIDNEXT went down from {h.UidNext} to {state.UidNext}");
            foreach (var (uid, key) in state.Uids)
            {
                if (uid >= state.UidNext)
                    throw new InvalidOperationException($"{when}: {folder} has UID {uid} at or above its UIDNEXT {state.UidNext}");
                if (h.Named.TryGetValue(uid, out var was) && was != key)
                    throw new InvalidOperationException($"{when}: {folder}'s UID {uid} named {was}, now {key}");
                if (h.Gone.Contains(uid))
                    throw new InvalidOperationException($"{when}: {folder}'s UID {uid} was expunged and is back, for {key}");
                if (!h.Named.ContainsKey(uid) && uid < h.UidNext)
                    throw new InvalidOperationException($"{when}: {folder} gave {key} UID {uid}, below its earlier UIDNEXT {h.UidNext}");
                h.Named[uid] = key;
            }
            foreach (var uid in h.Named.Keys.Where(u => !state.Uids.ContainsKey(u)))
                h.Gone.Add(uid);
            h.UidNext = state.UidNext;
            h.Absent = false;
        }
        foreach (var (folder, h) in _history)
            if (!states.ContainsKey(folder))
                h.Absent = true;
    }

    /// <summary>Keeps the reason of the session's end line (ImapLog.SessionEnded).</summary>
    private sealed partial class EndLogger : ILogger
    {
        public string? Reason { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 6002 && EndReason().Match(formatter(state, exception)) is { Success: true } m)
                Reason = m.Groups[1].Value;
        }
    }

    public void Dispose()
    {
        _accounts.Dispose();
        _tmp.Dispose();
    }
}

/// <summary>Alone, after the parallel tests: a run's allocation is measured process-wide.</summary>
[CollectionDefinition(nameof(ImapFuzzTests), DisableParallelization = true)]
public sealed class ImapFuzzCollection;

[Collection(nameof(ImapFuzzTests))]
public class ImapFuzzTests(ITestOutputHelper output)
{
    private static readonly byte[] Special = "\r\n\0 (){}[]\"\\*%+~:,<>.0123456789"u8.ToArray();

    public static IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fuzz", "imap-seeds")).Order(StringComparer.Ordinal))
            yield return (Path.GetFileName(f), File.ReadAllBytes(f));
        foreach (var f in Directory.GetFiles(ImapTranscriptTests.Folder, "*.imap").Order(StringComparer.Ordinal))
            yield return (Path.GetFileName(f), Transcript.Load(f).Steps.OfType<Transcript.Send>().SelectMany(s => s.Bytes).ToArray());
    }

    [Fact]
    public void Parser_on_seeds_and_mutations_never_throws_and_keeps_its_bounds()
    {
        var limits = new ImapParserLimits(MaxDepth: 4, MaxLiterals: 3, MaxTokens: 60);
        var rng = new Random(3501);
        var runs = 0;
        foreach (var (_, seed) in Seeds())
        {
            foreach (var input in new[] { seed }.Concat(Enumerable.Range(0, 200).Select(_ => Mutations.Mutate(seed, rng, Special))))
            {
                try
                {
                    ImapParserFuzzTarget.Run(input, limits);
                }
                catch (Exception e)
                {
                    throw new InvalidOperationException($"input {Convert.ToBase64String(input)} broke the parser: {e.Message}", e);
                }
                runs++;
            }
        }
        // Lines no seed has: random octets, literal announcements of every size, deep lists.
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[rng.Next(1, 200)];
            rng.NextBytes(bytes);
            ImapParserFuzzTarget.Run(bytes, limits);
            ImapParserFuzzTarget.Run(Encoding.ASCII.GetBytes($"t X {{{rng.NextInt64(0, 1L << 40)}{(i % 2 == 0 ? "+" : "")}}}\r\nab\r\n"), limits);
            ImapParserFuzzTarget.Run(Encoding.ASCII.GetBytes("t X " + new string('(', i % 40) + "a" + new string(')', (i * 7) % 40)), limits);
            runs += 3;
        }
        Assert.True(runs > 5000, $"{runs} runs");
    }

    /// <summary>COPY and MOVE to a name the store refuses (a level starting with "~", over 200 bytes) answer NO; they once let ArgumentException out of the session.</summary>
    [Fact]
    public async Task Copy_and_move_to_a_name_the_store_refuses_answer_NO()
    {
        using var target = new ImapFuzzTarget();
        await target.RunAsync("a1 LOGIN joe@hosted.test pw\r\na2 SELECT INBOX\r\na3 COPY 1 INBOX.~x\r\na4 UID MOVE 1 INBOX.~x\r\na5 LOGOUT\r\n"u8.ToArray());
    }

    [Fact]
    public async Task Session_on_seeds_and_mutations_keeps_every_invariant()
    {
        using var target = new ImapFuzzTarget();
        // A longer hunt by hand: MAILWARD_FUZZ_SECONDS=600 MAILWARD_FUZZ_SEED=7 (the seeds go round until the time is up).
        var hunt = int.TryParse(Environment.GetEnvironmentVariable("MAILWARD_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out var seconds) ? seconds : 0;
        var rng = new Random(int.TryParse(Environment.GetEnvironmentVariable("MAILWARD_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 9051);
        var budget = TimeSpan.FromSeconds(hunt > 0 ? hunt : 6);
        var runs = 0;
        var mutated = 0;
        // Bounded in time as in count: on a loaded machine the later seeds run unmutated past the budget.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var seeds = Seeds().ToList();
        foreach (var (name, seed) in hunt > 0 ? Enumerable.Repeat(seeds, int.MaxValue).SelectMany(all => all).TakeWhile(_ => clock.Elapsed < budget) : seeds)
        {
            try
            {
                await target.RunAsync(seed);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"seed {name} broke an invariant: {e.Message}", e);
            }
            runs++;
            for (var m = 0; m < 20 && clock.Elapsed < budget; m++)
            {
                mutated++;
                var input = Mutations.Mutate(seed, rng, Special);
                try
                {
                    await target.RunAsync(input);
                }
                catch (Exception e)
                {
                    throw new InvalidOperationException($"input {Convert.ToBase64String(input)} (from {name}) broke an invariant: {e.Message}", e);
                }
                runs++;
            }
        }
        output.WriteLine($"{runs} runs ({mutated} mutated) in {clock.Elapsed.TotalSeconds:F1} s; at most {target.MaxShareOfMemoryBound:P0} of the allocation bound used by a run");
        Assert.True(mutated >= 30, $"only {mutated} mutated inputs ran");
    }
}
