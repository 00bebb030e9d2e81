// SORT, THREAD and SEARCH compared with Dovecot's IMAP (Debian's dovecot-imapd) on one corpus of
// tricky messages: Dovecot runs privately, pre-authenticated over its stdin and stdout (no port,
// no system instance touched) on a Maildir the test writes, and every answer must be the same
// once Dovecot's sequence numbers are mapped to the corpus's. Accepted differences are listed in
// docs/imap.md ("Search", "Compared with Dovecot").
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Mailward.Protocols.Imap.Search;

namespace Mailward.Tests.Imap;

public sealed class FactWhenDovecotImapAttribute : FactAttribute
{
    public const string Imap = "/usr/lib/dovecot/imap";

    public FactWhenDovecotImapAttribute()
    {
        if (!File.Exists(Imap))
            Skip = "Dovecot's IMAP is not installed (apt-get install dovecot-imapd)";
    }
}

public class SearchVsDovecotTests
{
    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Header lines of each corpus message (the body is added); "X-N" names it for the mapping.</summary>
    private static readonly string[] Corpus =
    [
        "Message-ID: <m1@t>\nFrom: Alice <alice@a.example>\nTo: team@a.example\nSubject: Project kickoff\nDate: Mon, 4 Mar 2024 09:00:00 +0000",
        "Message-ID: <m2@t>\nReferences: <m1@t>\nFrom: bob@b.example\nTo: Alice <alice@a.example>\nSubject: Re: Project kickoff\nDate: Mon, 4 Mar 2024 10:00:00 +0100",
        "Message-ID: <m3@t>\nReferences: <m1@t>\n <m2@t>\nFrom: Carol <carol@c.example>\nSubject: Re: Re: Project kickoff\nDate: Mon, 4 Mar 2024 12:00:00 -0500",
        "Message-ID: <m4@t>\nIn-Reply-To: <m2@t>\nFrom: Dave <dave@d.example>\nCc: alice@a.example\nSubject: RE: project KICKOFF\nDate: Tue, 5 Mar 2024 08:00:00 +0000",
        "Message-ID: <m5@t>\nReferences: <missing1@t>\nFrom: eve@e.example\nSubject: Lost parent\nDate: Sun, 3 Mar 2024 08:00:00 +0000",
        "Message-ID: <m6@t>\nReferences: <missing1@t>\nFrom: frank@f.example\nSubject: Re: Lost parent\nDate: Wed, 6 Mar 2024 08:00:00 +0000",
        "Message-ID: <m7@t>\nReferences: <missing2@t>\nFrom: Grace <grace@g.example>\nSubject: Orphan",
        "Message-ID: <m8@t>\nFrom: list@l.example\nSubject: [list] Weekly report\nDate: Fri, 1 Mar 2024 08:00:00 +0000",
        "Message-ID: <m9@t>\nFrom: list@l.example\nSubject: Weekly report (fwd)\nDate: Sat, 2 Mar 2024 08:00:00 +0000",
        "Message-ID: <m10@t>\nFrom: heidi@h.example\nSubject: [fwd: Weekly report]\nDate: Fri, 8 Mar 2024 08:00:00 +0000",
        "Message-ID: <m11@t>\nFrom: ivan@i.example\nSubject: Fwd: Re: [list] weekly REPORT\nDate: Sat, 9 Mar 2024 08:00:00 +0000",
        "Message-ID: <m1@t>\nFrom: judy@j.example\nSubject: Duplicate id\nDate: Thu, 7 Mar 2024 08:00:00 +0000",
        "Message-ID: <m13@t>\nReferences: <m14@t>\nFrom: ken@k.example\nSubject: Loop A\nDate: Sun, 10 Mar 2024 08:00:00 +0000",
        "Message-ID: <m14@t>\nReferences: <m13@t>\nFrom: leo@l.example\nSubject: Loop B\nDate: Mon, 11 Mar 2024 08:00:00 +0000",
        "From: mallory@m.example\nSubject: No id\nDate: Tue, 12 Mar 2024 08:00:00 +0000",
        "Message-ID: <m16@t>\nReferences: <m16@t>\nFrom: ned@n.example\nSubject: Self\nDate: Tue, 12 Mar 2024 00:30:00 +1400",
        "Message-ID: <m17@t>\nFrom: \"=?utf-8?q?Z=C3=B6e?=\" <zoe@z.example>\nTo: Olga <olga@o.example>\nSubject: =?utf-8?q?Caf=C3=A9_meeting?=\nDate: Sat, 2 Mar 2024 12:00:00 +0000",
        "Message-ID: <m18@t>\nReferences: <m17@t>\nFrom: olga@o.example\nSubject: Re: =?utf-8?q?Caf=C3=A9_meeting?=\nDate: Sat, 2 Mar 2024 13:00:00 +0000",
        "Message-ID: <m19@t>\nFrom: pat@p.example\nSubject: \nDate: Fri, 1 Mar 2024 09:00:00 +0000",
        "Message-ID: <m20@t>\nFrom: quinn@q.example\nDate: Fri, 1 Mar 2024 10:00:00 +0000",
        "Message-ID: <m21@t>\nFrom: rose@r.example\nSubject: Re:\nDate: Fri, 1 Mar 2024 11:00:00 +0000",
        "Message-ID: <m22@t>\nReferences: <m3@t> <m99@t>\nFrom: sam@s.example\nSubject: Re: Project kickoff\nDate: Thu, 14 Mar 2024 08:00:00 +0000",
        "Message-ID: <m23@t>\nReferences: <m22@t>\nFrom: tom@t.example\nSubject: Re: different subject now\nDate: Fri, 15 Mar 2024 08:00:00 +0000",
        "Message-ID: <m24@t>\nFrom: uma@u.example\nSubject: Bad date\nDate: not a date at all",
        "Message-ID: <m25@t>\nFrom: Victor <victor@v.example>\nSubject: Project kickoff\nDate: Wed, 20 Mar 2024 08:00:00 +0000",
        "Message-ID: <m26@t>\nIn-Reply-To: <m25@t> <m1@t>\nFrom: wendy@w.example\nSubject: Re: Project kickoff\nDate: Thu, 21 Mar 2024 08:00:00 +0000",
        "Message-ID: <m27@t>\nReferences: bad-id <m26@t>\nFrom: xena@x.example\nSubject: Re: Project kickoff\nDate: Fri, 22 Mar 2024 08:00:00 +0000",
        "Message-ID: <m28@t>\nFrom: yuri@y.example\nSubject: Lost parent\nDate: Fri, 1 Mar 2024 12:00:00 +0000",
        "Message-ID: <m29@t>\nFrom: zack@z.example\nSubject: Re: [list] Orphan\nDate: Wed, 13 Mar 2024 08:00:00 +0000",
        "Message-ID: <m30@t>\nFrom: team: anna@a.example, ben@b.example;\nSubject: Multiple spaces   and\ttabs\nDate: Sat, 23 Mar 2024 08:00:00 +0000",
        "Message-ID: <m31@t>\nFrom: Anna <anna@a.example>\nCc: \"Emile\" <emile@e.example>\nSubject: multiple spaces and tabs\nDate: Sun, 24 Mar 2024 08:00:00 +0000",
        "Message-ID: <m32@t>\nFrom: Bea <bea@b.example>\nTo: \"Zed\" <zed@z.example>, amy@a.example\nSubject: Fw: FW: Fwd: multiple SPACES and tabs\nDate: Sun, 24 Mar 2024 08:00:00 +0000",
    ];

    private static List<SearchTestMessage> Messages() =>
        [.. Corpus.Select((headers, i) => new SearchTestMessage((uint)i + 1, Raw(headers, i), internalDate: Epoch.AddDays(i).AddMinutes(i * 7)))];

    private static string Raw(string headers, int i) =>
        $"X-N: n{i + 1:D2}.\n{headers}\n\n" + string.Concat(Enumerable.Repeat($"body line {i} with some words\n", (i * 7 % 11) + 1)) + (i % 3 == 0 ? "the secret word is kumquat\n" : "");

    private static readonly string[] Commands =
    [
        "THREAD REFERENCES UTF-8 ALL",
        "THREAD ORDEREDSUBJECT UTF-8 ALL",
        "THREAD REFERENCES UTF-8 SINCE 15-Jan-2024",
        "THREAD ORDEREDSUBJECT UTF-8 OR BODY kumquat FROM example",
        "SORT (ARRIVAL) UTF-8 ALL",
        "SORT (DATE) UTF-8 ALL",
        "SORT (REVERSE DATE) UTF-8 ALL",
        "SORT (SUBJECT) UTF-8 ALL",
        "SORT (REVERSE SUBJECT DATE) UTF-8 ALL",
        "SORT (FROM) UTF-8 ALL",
        "SORT (TO DATE) UTF-8 ALL",
        "SORT (CC) UTF-8 ALL",
        "SORT (SIZE) UTF-8 ALL",
        "SORT (REVERSE SIZE) UTF-8 ALL",
        "SORT (DISPLAYFROM) UTF-8 ALL",
        "SORT (DISPLAYTO ARRIVAL) UTF-8 ALL",
        "SEARCH SUBJECT kickoff",
        "SEARCH FROM example NOT FROM alice",
        "SEARCH OR TO alice CC alice",
        "SEARCH BODY kumquat",
        "SEARCH TEXT kumquat SUBJECT report",
        "SEARCH TEXT \"m17@t\"",
        "SEARCH HEADER References m1",
        "SEARCH HEADER In-Reply-To \"\"",
        "SEARCH SENTBEFORE 4-Mar-2024",
        "SEARCH SENTON 4-Mar-2024",
        "SEARCH SENTON 11-Mar-2024",
        "SEARCH SENTSINCE 20-Mar-2024",
        "SEARCH SINCE 1-Jan-2024 BEFORE 15-Jan-2024",
        "SEARCH ON 10-Jan-2024",
        "SEARCH LARGER 400 SMALLER 600",
        "SEARCH 3:5,30:* NOT 31",
        "SEARCH SUBJECT caf",
    ];

    [FactWhenDovecotImap]
    public async Task Sort_thread_and_search_answer_as_Dovecot_does()
    {
        var dir = Directory.CreateTempSubdirectory("mw-dovecot-search-");
        try
        {
            var cur = Path.Combine(dir.FullName, "Maildir", "cur");
            Directory.CreateDirectory(cur);
            Directory.CreateDirectory(Path.Combine(dir.FullName, "Maildir", "new"));
            Directory.CreateDirectory(Path.Combine(dir.FullName, "Maildir", "tmp"));
            var messages = Messages();
            for (var i = 0; i < Corpus.Length; i++)
            {
                var file = Path.Combine(cur, $"{1_700_000_000 + i}.M{i}P1.test:2,");
                await File.WriteAllTextAsync(file, Raw(Corpus[i], i));
                File.SetLastWriteTimeUtc(file, messages[i].InternalDate.UtcDateTime); // Dovecot's INTERNALDATE in a Maildir
            }
            var lines = await RunDovecot(dir.FullName, [.. Enumerable.Range(1, Corpus.Length).Select(n => $"SEARCH HEADER X-N n{n:D2}."), .. Commands]);

            // Dovecot's sequence number of each corpus message, from the X-N searches
            var map = new Dictionary<uint, uint>();
            for (var n = 1; n <= Corpus.Length; n++)
            {
                var found = lines[n - 1].Split(' ');
                Assert.True(found.Length == 3, $"message {n}: {lines[n - 1]}");
                map[uint.Parse(found[2])] = (uint)n;
            }
            Assert.Equal(Corpus.Length, map.Count);

            var ctx = new SearchContext((uint)messages.Count, messages[^1].Uid, TimeZoneInfo.Utc);
            var differences = new List<string>();
            for (var c = 0; c < Commands.Length; c++)
            {
                var theirs = Regex.Replace(lines[Corpus.Length + c], @"\d+", m => map[uint.Parse(m.Value)].ToString());
                if (theirs.StartsWith("* SEARCH", StringComparison.Ordinal)) // order-free: map, then sort
                    theirs = "* SEARCH" + string.Concat(theirs[8..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).Order().Select(n => " " + n));
                var ours = await Ours(Commands[c], messages, ctx);
                if (ours != theirs)
                    differences.Add($"{Commands[c]}\n  dovecot:  {theirs}\n  mailward: {ours}");
            }
            Assert.True(differences.Count == 0, string.Join('\n', differences));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<string> Ours(string command, List<SearchTestMessage> messages, SearchContext ctx)
    {
        var space = command.IndexOf(' ', StringComparison.Ordinal);
        var args = SearchQueryTests.Args(command[(space + 1)..]);
        switch (command[..space])
        {
            case "THREAD":
                var thread = ThreadRequest.Parse(args, 0, out var te)!;
                Assert.Null(te);
                var matched = await Matching(thread.Query, messages, ctx);
                return SearchResponses.Thread(Threader.Thread(matched, thread.Algorithm), uid: false);
            case "SORT":
                var sort = SortRequest.Parse(args, 0, out var se)!;
                Assert.Null(se);
                return SearchResponses.Sort(Sorter.Sort(await Matching(sort.Query, messages, ctx), sort.Criteria), uid: false);
            default:
                var query = SearchQuery.Parse(args, 0, out var qe)!;
                Assert.Null(qe);
                return SearchResponses.Search(await query.RunAsync(messages, ctx), uid: false);
        }
    }

    private static async Task<List<ISearchMessage>> Matching(SearchQuery query, List<SearchTestMessage> messages, SearchContext ctx)
    {
        var hits = (await query.RunAsync(messages, ctx)).Select(h => h.Sequence).ToHashSet();
        return [.. messages.Where(m => hits.Contains(m.Sequence))];
    }

    /// <summary>Runs Dovecot's imap pre-authenticated on the Maildir under <paramref name="home"/> and returns, per command, its untagged answer.</summary>
    private static async Task<List<string>> RunDovecot(string home, IReadOnlyList<string> commands)
    {
        Directory.CreateDirectory(Path.Combine(home, "run"));
        var uid = await Output("id", "-u");
        if (uid == "0")
        {
            // Dovecot will not give mail to root: the files go to uid 5000, as bench/vs-dovecot.sh does
            uid = "5000";
            await Output("chown", "-R", "5000:5000", home);
        }
        var conf = Path.Combine(home, "dovecot.conf");
        await File.WriteAllTextAsync(conf, $"""
            mail_location = maildir:{home}/Maildir
            base_dir = {home}/run
            log_path = {home}/dovecot.log
            first_valid_uid = {uid}
            mail_uid = {uid}
            mail_gid = {uid}
            ssl = no
            """);
        var psi = new ProcessStartInfo(FactWhenDovecotImapAttribute.Imap) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(conf);
        psi.Environment["USER"] = "tester";
        psi.Environment["HOME"] = home;
        psi.Environment["TZ"] = "UTC";
        using var process = Process.Start(psi)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var input = process.StandardInput;
        var output = process.StandardOutput;
        // one command at a time: Dovecot runs pipelined SEARCHes side by side and mixes their answers
        async Task<string> Send(string tag, string command)
        {
            await input.WriteAsync($"{tag} {command}\r\n");
            await input.FlushAsync();
            string? answer = null;
            while (await output.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("* SEARCH", StringComparison.Ordinal) || line.StartsWith("* SORT", StringComparison.Ordinal) || line.StartsWith("* THREAD", StringComparison.Ordinal))
                    answer = line;
                else if (line.StartsWith(tag + " ", StringComparison.Ordinal))
                {
                    Assert.True(line.StartsWith(tag + " OK", StringComparison.Ordinal), $"dovecot: {line} for {command}");
                    return answer ?? "";
                }
            }
            throw new InvalidOperationException($"dovecot ended during {command}: {await process.StandardError.ReadToEndAsync()}");
        }
        await Send("s", "SELECT INBOX");
        var answers = new List<string>();
        for (var i = 0; i < commands.Count; i++)
            answers.Add(await Send($"c{i}", commands[i]));
        await Send("z", "LOGOUT");
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(commands.Count, answers.Count);
        return answers;
    }

    private static async Task<string> Output(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var text = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return text.Trim();
    }
}
