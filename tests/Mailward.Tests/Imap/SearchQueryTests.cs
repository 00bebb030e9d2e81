// SEARCH on its own (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 4731, RFC 7162 §3.1.5): parsing every
// key and its errors, evaluation over hand-made messages, the text scan, and the answers' format.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Protocols.Imap;
using Mailward.Protocols.Imap.Search;

namespace Mailward.Tests.Imap;

public class SearchQueryTests
{
    private static readonly SearchContext Utc = new(10, 100, TimeZoneInfo.Utc);

    internal static IReadOnlyList<ImapToken> Args(string arguments)
    {
        var parser = new ImapCommandParser(new ImapParserLimits(MaxDepth: 64, MaxTokens: 20_000));
        var step = parser.Feed("t SEARCH " + arguments);
        Assert.Equal(ParseStatus.Complete, step.Status);
        return parser.Arguments;
    }

    private static SearchQuery Query(string arguments, SearchParseOptions? options = null)
    {
        var q = SearchQuery.Parse(Args(arguments), 0, out var error, options);
        Assert.True(q is not null, error?.Text);
        return q;
    }

    private static SearchError Error(string arguments, SearchParseOptions? options = null)
    {
        Assert.Null(SearchQuery.Parse(Args(arguments), 0, out var error, options));
        return error!;
    }

    private static async Task<string> Run(string arguments, IEnumerable<SearchTestMessage> messages, SearchContext? ctx = null) =>
        string.Join(' ', (await Query(arguments).RunAsync(messages, ctx ?? Utc)).Select(h => h.Sequence));

    private static List<SearchTestMessage> Mailbox() =>
    [
        new SearchTestMessage(1, "From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: Lunch on Friday\nDate: Fri, 1 Mar 2024 23:30:00 -0800\n\nShall we meet at noon?\n", MessageFlags.Seen) { Keywords = ["$Label1"], ModSeq = 5 },
        new SearchTestMessage(2, "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\nTo: alice@example.com\nCc: carol@example.net\nSubject: =?iso-8859-1?q?R=E9union?= tomorrow\nX-Priority: 1\n\nSee you.\n", MessageFlags.Seen | MessageFlags.Answered) { ModSeq = 9 },
        new SearchTestMessage(3, "From: bob@example.org\nSubject: Re: Lunch on Friday\nDate: Sat, 2 Mar 2024 08:00:00 +0100\n\nYes, noon is fine.\n", MessageFlags.Flagged | MessageFlags.Deleted) { Keywords = ["Work"], ModSeq = 7 },
        new SearchTestMessage(4, "From: dave@example.com\nSubject: Draft\n\nunfinished\n", MessageFlags.Draft) { ModSeq = 2 },
    ];

    [Fact]
    public void Every_key_of_RFC_9051_and_3501_parses()
    {
        var all = "ALL ANSWERED BCC x BEFORE 1-Feb-1994 BODY x CC x DELETED DRAFT FLAGGED FROM x HEADER X-A x KEYWORD $Junk LARGER 10 "
            + "NOT SEEN ON \"1-Feb-1994\" OR SEEN UNSEEN SEEN SENTBEFORE 1-Feb-1994 SENTON 1-Feb-1994 SENTSINCE 1-Feb-1994 SINCE 1-Feb-1994 "
            + "SMALLER 10 SUBJECT x TEXT x TO x UID 1:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $Junk UNSEEN 1,3:5,7:* (SEEN (DRAFT)) "
            + "NEW OLD RECENT MODSEQ 12 MODSEQ \"/flags/\\\\Seen\" all 4";
        var q = Query(all);
        Assert.True(q.NeedsText);
        Assert.True(q.NeedsHeaders);
        Assert.True(q.UsesModSeq);
        Assert.Null(q.Return);
    }

    [Theory]
    [InlineData("", "search criteria missing")]
    [InlineData("FOO", "unknown search key FOO")]
    [InlineData("FROM", "FROM needs an argument")]
    [InlineData("HEADER X-A", "HEADER needs an argument")]
    [InlineData("HEADER \"a b\" x", "invalid header field name")]
    [InlineData("BEFORE 31-Feb-2024", "invalid date 31-Feb-2024")]
    [InlineData("ON 1-Foo-2024", "invalid date 1-Foo-2024")]
    [InlineData("SINCE 2024-02-01", "invalid date 2024-02-01")]
    [InlineData("LARGER -1", "invalid number -1")]
    [InlineData("UID", "UID needs a sequence set")]
    [InlineData("UID 0:4", "invalid sequence set 0:4")]
    [InlineData("1:x", "invalid sequence set 1:x")]
    [InlineData("NOT", "NOT needs a search key")]
    [InlineData("OR SEEN", "OR needs two search keys")]
    [InlineData("()", "empty parenthesised search key")]
    [InlineData("\"SEEN\"", "search key expected, not a string")]
    [InlineData("MODSEQ x", "MODSEQ needs a mod-sequence value")]
    [InlineData("MODSEQ \"/flags/x\" mine 4", "MODSEQ entry needs priv, shared or all")]
    [InlineData("RETURN (FOO) ALL", "unknown RETURN option FOO")]
    [InlineData("RETURN ALL", "RETURN needs a list of options")]
    [InlineData("RETURN (SAVE) ALL", "unknown RETURN option SAVE")]
    [InlineData("$", "$ needs SEARCHRES, which is not offered")]
    [InlineData("CHARSET", "CHARSET needs a name")]
    public void Malformed_searches_are_BAD_with_a_reason(string arguments, string reason)
    {
        var e = Error(arguments);
        Assert.Equal("BAD", e.Status);
        Assert.Equal(reason, e.Text);
    }

    [Fact]
    public void Charsets_other_than_UTF8_and_ASCII_answer_BADCHARSET()
    {
        Assert.NotNull(Query("CHARSET utf-8 SUBJECT x"));
        Assert.NotNull(Query("CHARSET US-ASCII SUBJECT x"));
        var e = Error("CHARSET ISO-8859-1 SUBJECT x");
        Assert.Equal("NO", e.Status);
        Assert.StartsWith("[BADCHARSET (US-ASCII UTF-8)]", e.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_and_key_count_are_bounded()
    {
        Assert.NotNull(Query(string.Concat(Enumerable.Repeat("NOT ", SearchQuery.MaxDepth)) + "SEEN"));
        Assert.Equal("search keys nested too deeply", Error(string.Concat(Enumerable.Repeat("NOT ", SearchQuery.MaxDepth + 1)) + "SEEN").Text);
        Assert.Equal("too many search keys", Error(string.Join(' ', Enumerable.Repeat("SEEN", SearchQuery.MaxKeys + 1))).Text);
        // a long OR chain of addresses, as a client builds from an address book, is fine
        Assert.NotNull(Query(string.Concat(Enumerable.Range(0, 300).Select(i => $"OR FROM a{i} ")) + "FROM last"));
    }

    [Fact]
    public async Task Flags_keywords_sets_and_RFC3501_recency()
    {
        var box = Mailbox();
        Assert.Equal("1 2", await Run("SEEN", box));
        Assert.Equal("3 4", await Run("UNSEEN", box));
        Assert.Equal("2", await Run("ANSWERED", box));
        Assert.Equal("1 3 4", await Run("UNANSWERED", box));
        Assert.Equal("3", await Run("FLAGGED DELETED", box));
        Assert.Equal("1 2 4", await Run("UNDELETED", box));
        Assert.Equal("4", await Run("DRAFT", box));
        Assert.Equal("1 2 3", await Run("UNDRAFT", box));
        Assert.Equal("1 2 4", await Run("UNFLAGGED", box));
        Assert.Equal("3", await Run("KEYWORD work", box));
        Assert.Equal("1 2 4", await Run("UNKEYWORD WORK", box));
        Assert.Equal("1 2", await Run("KEYWORD \\Seen", box));
        Assert.Equal("1 3 4", await Run("1,3:*", box, new SearchContext(4, 40, TimeZoneInfo.Utc)));
        Assert.Equal("4", await Run("*", box, new SearchContext(4, 40, TimeZoneInfo.Utc)));
        Assert.Equal("2 3", await Run("UID 20:30", box));
        Assert.Equal("4", await Run("UID *", box, new SearchContext(4, 40, TimeZoneInfo.Utc)));
        Assert.Equal("", await Run("RECENT", box));
        Assert.Equal("", await Run("NEW", box));
        Assert.Equal("1 2 3 4", await Run("OLD", box));
        Assert.Equal("1 2 3 4", await Run("ALL", box));
    }

    [Fact]
    public async Task Not_or_and_parentheses_combine()
    {
        var box = Mailbox();
        Assert.Equal("3 4", await Run("NOT SEEN", box));
        Assert.Equal("2 4", await Run("OR ANSWERED DRAFT", box));
        Assert.Equal("1 3 4", await Run("NOT (SEEN ANSWERED)", box));
        Assert.Equal("1", await Run("SEEN NOT ANSWERED", box));
        Assert.Equal("2 3 4", await Run("OR OR ANSWERED DRAFT (FLAGGED KEYWORD Work)", box));
        Assert.Equal("1 2 3 4", await Run("NOT NOT ALL", box));
    }

    [Fact]
    public async Task Sizes_compare_strictly()
    {
        var box = Mailbox();
        var size = box[3].Size;
        Assert.Equal("4", await Run($"SMALLER {size + 1}", box));
        Assert.Equal("", await Run($"SMALLER {size}", box));
        Assert.Equal("1 2 3", await Run($"LARGER {size}", box));
    }

    [Fact]
    public async Task Internal_dates_are_days_in_the_server_zone()
    {
        // 20:00 UTC on 1 March is 2 March in Sydney (UTC+11 in March)
        var m = new SearchTestMessage(1, "Subject: x\n\nx\n", internalDate: new DateTimeOffset(2024, 3, 1, 20, 0, 0, TimeSpan.Zero));
        var sydney = new SearchContext(1, 10, TimeZoneInfo.CreateCustomTimeZone("plus11", TimeSpan.FromHours(11), "plus11", "plus11"));
        Assert.Equal("1", await Run("ON 1-Mar-2024", [m]));
        Assert.Equal("", await Run("ON 1-Mar-2024", [m], sydney));
        Assert.Equal("1", await Run("ON 2-Mar-2024", [m], sydney));
        Assert.Equal("1", await Run("SINCE 2-Mar-2024", [m], sydney));
        Assert.Equal("", await Run("BEFORE 2-Mar-2024", [m], sydney));
        Assert.Equal("1", await Run("BEFORE 2-Mar-2024", [m]));
        Assert.Equal("", await Run("SINCE 2-Mar-2024", [m]));
    }

    [Fact]
    public async Task Sent_dates_are_days_in_the_Date_fields_own_zone()
    {
        var box = Mailbox();
        // message 1: Fri, 1 Mar 2024 23:30 -0800 is 2 March in UTC, but its own day is 1 March
        Assert.Equal("1", await Run("SENTON 1-Mar-2024", box));
        // message 3: Sat, 2 Mar 2024 08:00 +0100 (07:00 UTC); 2 and 4 have no Date: their internal dates (3 and 5 January)
        Assert.Equal("3", await Run("SENTON 2-Mar-2024", box));
        Assert.Equal("2 4", await Run("SENTBEFORE 1-Mar-2024", box));
        Assert.Equal("1 3", await Run("SENTSINCE 1-Mar-2024", box));
    }

    [Fact]
    public async Task Header_keys_match_decoded_text_case_insensitively()
    {
        var box = Mailbox();
        Assert.Equal("1 2", await Run("OR FROM alice TO ALICE", box));
        Assert.Equal("2", await Run("FROM jörg", box));
        Assert.Equal("2", await Run("FROM JÖRG", box));
        Assert.Equal("2", await Run("SUBJECT \"réunion TOMORROW\"", box));
        Assert.Equal("1 3", await Run("SUBJECT lunch", box));
        Assert.Equal("2", await Run("CC carol", box));
        Assert.Equal("", await Run("BCC carol", box));
        Assert.Equal("1", await Run("TO bob", box));
        Assert.Equal("2", await Run("HEADER x-priority 1", box));
        Assert.Equal("2", await Run("HEADER X-PRIORITY \"\"", box));
        Assert.Equal("1 3", await Run("HEADER Date \"\"", box));
    }

    [Fact]
    public async Task Body_and_text_decode_transfer_encodings_and_charsets()
    {
        var qp = SearchTestMessage.Of(1, "Subject: qp\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable", "Caf=E9 cr=\n=E8me on the menu\n");
        var b64 = SearchTestMessage.Of(2, "Subject: secret word\nContent-Type: multipart/mixed; boundary=b",
            "--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + Convert.ToBase64String(Encoding.UTF8.GetBytes("Grüße aus München\n"), Base64FormattingOptions.InsertLineBreaks)
            + "\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" + Convert.ToBase64String(Encoding.UTF8.GetBytes("hidden attachment words")) + "\n--b--\n");
        var nested = SearchTestMessage.Of(3, "Subject: fwd\nContent-Type: message/rfc822", "Subject: inner topic\n\ninner text\n");
        var box = new[] { qp, b64, nested };
        Assert.Equal("1", await Run("BODY \"CAFÉ CRÈME\"", box));
        Assert.Equal("2", await Run("BODY münchen", box));
        Assert.Equal("", await Run("BODY GRÜSSE", box)); // simple case mapping: ß does not fold to SS (documented)
        Assert.Equal("", await Run("BODY hidden", box)); // attachments are not text
        Assert.Equal("", await Run("BODY secret", box)); // BODY leaves the header out
        Assert.Equal("2", await Run("TEXT secret", box));
        Assert.Equal("3", await Run("BODY \"inner topic\"", box)); // an attached message's header is part of the body
        Assert.Equal("2", await Run("TEXT \"content-transfer-encoding: base64\" BODY grüße", box));
    }

    [Fact]
    public async Task Koi8_text_is_decoded_before_matching()
    {
        var raw = Encoding.Latin1.GetBytes("Subject: ru\nContent-Type: text/plain; charset=koi8-r\n\n\xf0\xd2\xc9\xd7\xc5\xd4, \xcd\xc9\xd2\n");
        var found = await MessageTextSearch.FindAsync(new MemoryStream(raw), [new TextNeedle(SearchText.Fold("привет"), false), new TextNeedle(SearchText.Fold("МИР"), false)]);
        Assert.Equal([true, true], found);
    }

    [Fact]
    public async Task A_needle_across_read_boundaries_is_found()
    {
        // MimeReader hands content over in blocks of about 4 KiB: every offset around the first two block ends
        for (var offset = 4040; offset < 4110; offset++)
        {
            foreach (var at in new[] { offset, offset + 4096 })
            {
                var body = new string('a', at) + "needle in the haystack" + new string('b', 10_000) + "\n";
                var raw = Encoding.ASCII.GetBytes("Subject: big\n\n" + body);
                var found = await MessageTextSearch.FindAsync(new MemoryStream(raw), [new TextNeedle("NEEDLE IN THE HAYSTACK", false), new TextNeedle("NOT THERE", true)]);
                Assert.True(found[0] && !found[1], $"needle at {at}");
            }
        }
    }

    [Fact]
    public async Task Base64_text_with_a_needle_across_boundaries_is_found()
    {
        var text = new string('x', 5000) + " Grüße " + new string('y', 9000);
        var raw = Encoding.ASCII.GetBytes("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + Convert.ToBase64String(Encoding.UTF8.GetBytes(text), Base64FormattingOptions.InsertLineBreaks) + "\n");
        Assert.Equal(new[] { true }, await MessageTextSearch.FindAsync(new MemoryStream(raw), [new TextNeedle(SearchText.Fold(" grüße "), false)]));
    }

    [Fact]
    public async Task The_in_memory_scan_reused_message_after_message_answers_as_a_fresh_streaming_one()
    {
        // Find keeps one scanner per thread and sets it to each message in turn: nothing of one message
        // (needles found, a part's encoding or charset, an early stop) may carry into the next.
        var messages = StructureVsDovecotTests.CorpusFiles().Select(File.ReadAllBytes).ToList();
        messages.Add(Encoding.UTF8.GetBytes("From: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\nSubject: x\n\nplain body\n")); // a header folded off the ASCII path
        messages.Add(Encoding.ASCII.GetBytes("Subject: needle early\n\n" + new string('z', 20_000) + " haystack\n")); // stops early
        TextNeedle[][] needleSets =
        [
            [new("JOERG", true)],
            [new("NEEDLE", true), new("HAYSTACK", false)],
            [new("BOUNDARY", true), new("TEXT", false), new("", false)],
            [new("MÜNCHEN", false), new("EXAMPLE", true)],
        ];
        var answers = 0;
        for (var round = 0; round < 2; round++)
        {
            foreach (var needles in needleSets)
            {
                foreach (var raw in messages)
                {
                    var fresh = await MessageTextSearch.FindAsync(new MemoryStream(raw), needles);
                    Assert.Equal(fresh, MessageTextSearch.Find(new MemoryStream(raw), needles));
                    answers += fresh.Count(f => f);
                }
            }
        }
        Assert.True(answers > 20, $"only {answers} needles found: the comparison would prove little");
        Assert.Equal([true], MessageTextSearch.Find(new MemoryStream(messages[^2]), [new TextNeedle("JOERG", true)]));
        Assert.Equal([true, false], MessageTextSearch.Find(new MemoryStream(messages[^1]), [new TextNeedle("NEEDLE", true), new TextNeedle("NEEDLE", false)]));
    }

    [Fact]
    public async Task Cheap_keys_decide_before_the_message_is_opened()
    {
        var box = Mailbox();
        var q = Query("BODY noon DELETED");
        Assert.Equal([3], (await q.RunAsync(box, Utc)).Select(h => (int)h.Sequence));
        Assert.Equal([0, 0, 1, 0], box.Select(m => m.Opened)); // only the deleted message was scanned
        var or = Query("OR SEEN TEXT noon");
        Assert.Equal([1u, 2, 3], (await or.RunAsync(box, Utc)).Select(h => h.Sequence));
        Assert.Equal([0, 0, 2, 1], box.Select(m => m.Opened)); // the seen ones were decided without a scan
        var both = Query("BODY noon NOT BODY fine TEXT lunch");
        Assert.Equal([1u], (await both.RunAsync(box, Utc)).Select(h => h.Sequence));
        Assert.Equal([1, 1, 3, 2], box.Select(m => m.Opened)); // one scan per message for three text keys
    }

    [Fact]
    public async Task Return_options_modseq_and_the_answers_format()
    {
        var box = Mailbox();
        var q = Query("RETURN (MIN MAX COUNT ALL) MODSEQ 3");
        Assert.Equal(SearchReturnOptions.Min | SearchReturnOptions.Max | SearchReturnOptions.Count | SearchReturnOptions.All, q.Return);
        var hits = await q.RunAsync(box, Utc);
        Assert.Equal("* ESEARCH (TAG \"A1\") MIN 1 MAX 3 COUNT 3 ALL 1:3 MODSEQ 9", SearchResponses.ESearch("A1", hits, uid: false, q.Return!.Value, q.UsesModSeq));
        Assert.Equal("* ESEARCH (TAG \"A1\") UID MIN 10 MAX 30 COUNT 3 ALL 10,20,30 MODSEQ 9", SearchResponses.ESearch("A1", hits, uid: true, q.Return!.Value, q.UsesModSeq));
        Assert.Equal("* ESEARCH (TAG \"A1\") MIN 1 MODSEQ 5", SearchResponses.ESearch("A1", hits, false, SearchReturnOptions.Min, true));
        Assert.Equal("* ESEARCH (TAG \"A1\") MAX 3 MODSEQ 7", SearchResponses.ESearch("A1", hits, false, SearchReturnOptions.Max, true));
        Assert.Equal("* SEARCH 1 2 3 (MODSEQ 9)", SearchResponses.Search(hits, uid: false, q.UsesModSeq));
        Assert.Equal("* SEARCH 10 20 30", SearchResponses.Search(hits, uid: true));
        Assert.Equal(SearchReturnOptions.All, Query("RETURN () ALL").Return);
        // nothing found: COUNT 0 alone, no MODSEQ (RFC 4731 §3.1, RFC 7162 §3.1.5)
        Assert.Equal("* ESEARCH (TAG \"A2\") COUNT 0", SearchResponses.ESearch("A2", [], false, SearchReturnOptions.Min | SearchReturnOptions.Count | SearchReturnOptions.All, true));
        Assert.Equal("* ESEARCH (TAG \"A2\")", SearchResponses.ESearch("A2", [], false, SearchReturnOptions.All));
        Assert.Equal("* SEARCH", SearchResponses.Search([], false, true));
    }

    [Fact]
    public async Task Save_and_dollar_work_when_SEARCHRES_is_offered()
    {
        var res = new SearchParseOptions(SearchRes: true);
        var box = Mailbox();
        var q = Query("RETURN (SAVE) SEEN", res);
        var hits = await q.RunAsync(box, Utc);
        Assert.Null(SearchResponses.ESearch("A", hits, false, q.Return!.Value)); // SAVE alone sends no ESEARCH
        var saved = SearchResponses.SavedUids(hits, q.Return!.Value);
        Assert.Equal(new uint[] { 10, 20 }, saved.Order());
        Assert.Equal([20u], SearchResponses.SavedUids(hits, SearchReturnOptions.Save | SearchReturnOptions.Max));
        var ctx = Utc with { SavedUids = saved };
        Assert.Equal([2u], (await Query("$ ANSWERED", res).RunAsync(box, ctx)).Select(h => h.Sequence));
        Assert.Equal([1u, 2], (await Query("UID $", res).RunAsync(box, ctx)).Select(h => h.Sequence));
    }
}
