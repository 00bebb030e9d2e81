// SORT and THREAD on their own (RFC 5256): base subject extraction (§2.1), the sort criteria and
// their ties (§3), ORDEREDSUBJECT and REFERENCES (§4) with dummies, loops, duplicate ids and subject
// gathering, and the THREAD answer's nested format (§4, §5).
using Mailward.Protocols.Imap;
using Mailward.Protocols.Imap.Search;

namespace Mailward.Tests.Imap;

public class SearchSortThreadTests
{
    [Theory]
    [InlineData("hello", "hello", false)]
    [InlineData("Re: hello", "hello", true)]
    [InlineData("RE: Re: re: hello", "hello", true)]
    [InlineData("Fwd: hello", "hello", true)]
    [InlineData("FW: hello", "hello", true)]
    [InlineData("Re[2]: hello", "hello", true)]
    [InlineData("Re [2]: hello", "hello", true)]
    [InlineData("[list] Re: hello", "hello", true)]
    [InlineData("[list] hello", "hello", false)]
    [InlineData("[a][b] Re: x", "x", true)]
    [InlineData("Re: [a] Re: x", "x", true)]
    [InlineData("[list]", "[list]", false)]
    [InlineData("[list] [other]", "[other]", false)]
    [InlineData("hello (fwd)", "hello", true)]
    [InlineData("hello (FWD) (fwd)  ", "hello", true)]
    [InlineData("[fwd: Re: hello]", "hello", true)]
    [InlineData("Re: [fwd: hello (fwd)]", "hello", true)]
    [InlineData("Fwd: [fwd: x]", "x", true)]
    [InlineData("  hello \t  world  ", "hello world", false)]
    [InlineData("=?utf-8?q?Re=3A_caf=C3=A9?=", "café", true)]
    [InlineData("Re:", "", true)]
    [InlineData("Re hello", "Re hello", false)]
    [InlineData("Reply: hello", "Reply: hello", false)]
    [InlineData("Re: (fwd)", "", true)]
    public void Base_subjects_follow_RFC_5256_section_2_1(string subject, string expected, bool replyOrForward)
    {
        Assert.Equal(expected, BaseSubject.Extract(subject, out var r));
        Assert.Equal(replyOrForward, r);
    }

    private static string Sorted(string criteria, IEnumerable<SearchTestMessage> messages)
    {
        var parsed = SortCriteria.Parse(SearchQueryTests.Args(criteria)[0], out var error);
        Assert.True(parsed is not null, error);
        return string.Join(' ', Sorter.Sort(messages, parsed).Select(m => m.Sequence));
    }

    private static List<SearchTestMessage> SortBox() =>
    [
        SearchTestMessage.Of(1, "From: Zed <zed@example.com>\nTo: amy@example.com\nSubject: Re: beta\nDate: Mon, 4 Mar 2024 10:00:00 +0000", "x\n"),
        SearchTestMessage.Of(2, "From: \"Adam\" <bob@example.com>\nCc: yann@example.com\nSubject: alpha\nDate: Mon, 4 Mar 2024 09:00:00 -0200", "a much longer body than any of the others, so that it is the largest message\n"),
        SearchTestMessage.Of(3, "From: carl@example.com\nTo: =?utf-8?q?=C3=89mile?= <emile@example.com>\nSubject: [list] Beta\nDate: Mon, 4 Mar 2024 10:30:00 +0000", "y\n"),
        SearchTestMessage.Of(4, "Subject: ALPHA (fwd)", "z\n"), // no Date: its internal date, 5 January 2024
    ];

    [Fact]
    public void Sort_criteria_compare_as_RFC_5256_section_3_says()
    {
        var box = SortBox();
        Assert.Equal("2 4 1 3", Sorted("(SUBJECT)", box)); // alpha (2, 4 by sequence) then beta (1, 3)
        Assert.Equal("1 3 2 4", Sorted("(REVERSE SUBJECT)", box)); // ties stay in sequence order
        Assert.Equal("4 1 3 2", Sorted("(DATE)", box)); // 2's 09:00 -0200 is 11:00 UTC
        Assert.Equal("2 3 1 4", Sorted("(REVERSE DATE)", box));
        Assert.Equal("1 2 3 4", Sorted("(ARRIVAL)", box));
        Assert.Equal("4 2 3 1", Sorted("(FROM)", box)); // "" < bob < carl < zed (the local part, not the name)
        Assert.Equal("4 2 3 1", Sorted("(DISPLAYFROM)", box)); // "" < Adam < carl@example.com < Zed
        Assert.Equal("2 4 1 3", Sorted("(TO)", box)); // "" (2, 4) < amy < emile
        Assert.Equal("2 4 1 3", Sorted("(DISPLAYTO)", box)); // "" < amy@example.com < Émile
        Assert.Equal("1 3 4 2", Sorted("(CC)", box));
        Assert.Equal("2", Sorted("(REVERSE SIZE)", box).Split(' ')[0]);
        Assert.Equal("2 4 3 1", Sorted("(SUBJECT REVERSE DATE)", box));
    }

    [Theory]
    [InlineData("()", "SORT needs a list of criteria")]
    [InlineData("(FOO)", "unknown sort criterion FOO")]
    [InlineData("(DATE REVERSE)", "REVERSE needs a sort criterion after it")]
    [InlineData("(REVERSE REVERSE DATE)", "unknown sort criterion REVERSE")]
    public void Bad_sort_criteria_are_refused(string criteria, string reason)
    {
        Assert.Null(SortCriteria.Parse(SearchQueryTests.Args(criteria)[0], out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void Sort_and_thread_commands_take_a_charset_and_search_keys()
    {
        var sort = SortRequest.Parse(SearchQueryTests.Args("(DATE) UTF-8 SEEN"), 0, out var e1);
        Assert.True(sort is not null, e1?.Text);
        Assert.Equal(new[] { new SortCriterion(SortKey.Date, false) }, sort.Criteria.Items);
        Assert.Equal("NO", SortRequest.Parse(SearchQueryTests.Args("(DATE) KOI8-R ALL"), 0, out var e2) is null ? e2!.Status : "");
        Assert.Equal("SORT needs a charset", SortRequest.Parse(SearchQueryTests.Args("(DATE)"), 0, out var e3) is null ? e3!.Text : "");
        Assert.Equal("search criteria missing", SortRequest.Parse(SearchQueryTests.Args("(DATE) UTF-8"), 0, out var e4) is null ? e4!.Text : "");
        var thread = ThreadRequest.Parse(SearchQueryTests.Args("references US-ASCII ALL"), 0, out var e5);
        Assert.Equal(ThreadAlgorithm.References, thread?.Algorithm);
        Assert.Equal("THREAD needs ORDEREDSUBJECT or REFERENCES", ThreadRequest.Parse(SearchQueryTests.Args("X UTF-8 ALL"), 0, out var e6) is null ? e6!.Text : "");
    }

    private static string Threads(ThreadAlgorithm algorithm, IEnumerable<SearchTestMessage> messages, bool uid = false) =>
        SearchResponses.Thread(Threader.Thread(messages, algorithm), uid);

    [Fact]
    public void The_thread_answer_nests_as_RFC_5256_shows()
    {
        // "(2)(3 6 (4 23)(44 7 96))" from RFC 5256 §4, built by hand
        static ThreadNode N(uint seq, params ThreadNode[] children)
        {
            var n = new ThreadNode(seq == 0 ? null : SearchTestMessage.Of(seq, "Subject: x"));
            n.Children.AddRange(children);
            return n;
        }
        var threads = new[] { N(2), N(3, N(6, N(4, N(23)), N(44, N(7, N(96))))) };
        Assert.Equal("* THREAD (2)(3 6 (4 23)(44 7 96))", SearchResponses.Thread(threads, uid: false));
        Assert.Equal("* THREAD ((3)(5))", SearchResponses.Thread([N(0, N(3), N(5))], uid: false));
        Assert.Equal("* THREAD (1 (2)(3 4 (5)(6)))", SearchResponses.Thread([N(1, N(2), N(3, N(4, N(5), N(6))))], uid: false));
        Assert.Equal("* THREAD", SearchResponses.Thread([], uid: false));
    }

    [Fact]
    public void Orderedsubject_groups_by_base_subject_under_the_first_message()
    {
        var box = new[]
        {
            SearchTestMessage.Of(1, "Subject: lunch\nDate: Mon, 4 Mar 2024 10:00:00 +0000"),
            SearchTestMessage.Of(2, "Subject: Re: lunch\nDate: Mon, 4 Mar 2024 09:00:00 +0000"),
            SearchTestMessage.Of(3, "Subject: report\nDate: Sun, 3 Mar 2024 10:00:00 +0000"),
            SearchTestMessage.Of(4, "Subject: Fwd: LUNCH\nDate: Tue, 5 Mar 2024 10:00:00 +0000"),
            SearchTestMessage.Of(5, "Subject: re: report\nDate: Tue, 5 Mar 2024 11:00:00 +0000"),
            SearchTestMessage.Of(6, "Subject: other\nDate: Sat, 2 Mar 2024 10:00:00 +0000"),
        };
        Assert.Equal("* THREAD (6)(3 5)(2 (1)(4))", Threads(ThreadAlgorithm.OrderedSubject, box));
        Assert.Equal("* THREAD (60)(30 50)(20 (10)(40))", Threads(ThreadAlgorithm.OrderedSubject, box, uid: true));
    }

    [Fact]
    public void References_links_chains_and_keeps_dummies_of_missing_parents()
    {
        var box = new[]
        {
            SearchTestMessage.Of(1, "Message-ID: <a@x>\nSubject: one"),
            SearchTestMessage.Of(2, "Message-ID: <b@x>\nReferences: <a@x>\nSubject: Re: one"),
            SearchTestMessage.Of(3, "Message-ID: <c@x>\nReferences: <a@x>\n <b@x>\nSubject: Re: one"),
            SearchTestMessage.Of(4, "Message-ID: <d@x>\nReferences: <missing@x>\nSubject: two"),
            SearchTestMessage.Of(5, "Message-ID: <e@x>\nReferences: <missing@x>\nSubject: three"),
            SearchTestMessage.Of(6, "Message-ID: <f@x>\nIn-Reply-To: <gone@x> (comment <no@x>) <second@x>\nSubject: four"),
            SearchTestMessage.Of(7, "Message-ID: <g@x>\nIn-Reply-To: <b@x>\nSubject: Re: one"),
        };
        // 4 and 5 share a missing parent: a dummy with two children at the top stays;
        // 6's missing parent has one child and gives way to it; 7 answers 2 through In-Reply-To
        Assert.Equal("* THREAD (1 2 (3)(7))((4)(5))(6)", Threads(ThreadAlgorithm.References, box));
    }

    [Fact]
    public void References_breaks_loops_and_renames_duplicate_ids()
    {
        var loop = new[]
        {
            SearchTestMessage.Of(1, "Message-ID: <a@x>\nReferences: <b@x>\nSubject: s1"),
            SearchTestMessage.Of(2, "Message-ID: <b@x>\nReferences: <a@x>\nSubject: s2"),
            SearchTestMessage.Of(3, "Message-ID: <c@x>\nReferences: <c@x>\nSubject: s3"),
        };
        // 1 becomes the child of b; 2 would then be its own grandchild, so 2 stays the root; 3 refers to itself
        Assert.Equal("* THREAD (2 1)(3)", Threads(ThreadAlgorithm.References, loop));
        var dupes = new[]
        {
            SearchTestMessage.Of(1, "Message-ID: <a@x>\nSubject: s1"),
            SearchTestMessage.Of(2, "Message-ID: <a@x>\nSubject: s2"),
            SearchTestMessage.Of(3, "Message-ID: <c@x>\nReferences: <a@x>\nSubject: s3"),
        };
        Assert.Equal("* THREAD (1 3)(2)", Threads(ThreadAlgorithm.References, dupes)); // the first keeps the id
    }

    [Fact]
    public void References_gathers_threads_with_one_base_subject()
    {
        var box = new[]
        {
            SearchTestMessage.Of(1, "Message-ID: <a@x>\nSubject: plans"),
            SearchTestMessage.Of(2, "Message-ID: <b@x>\nSubject: Re: plans"), // lost its References: a reply by subject
            SearchTestMessage.Of(3, "Message-ID: <c@x>\nSubject: news"),
            SearchTestMessage.Of(4, "Message-ID: <d@x>\nSubject: [list] news"), // same subject, neither a reply: a dummy holds both
            SearchTestMessage.Of(5, "Message-ID: <e@x>\nSubject: Re:"), // empty base subject: never gathered
            SearchTestMessage.Of(6, "Message-ID: <f@x>\nSubject: Re:"),
            SearchTestMessage.Of(7, "Message-ID: <g@x>\nReferences: <m1@x>\nSubject: Re: trip"),
            SearchTestMessage.Of(8, "Message-ID: <h@x>\nReferences: <m1@x>\nSubject: Re: trip"),
            SearchTestMessage.Of(9, "Message-ID: <i@x>\nSubject: trip"), // joins the dummy of 7 and 8 as a child
        };
        Assert.Equal("* THREAD (1 2)((3)(4))(5)(6)((7)(8)(9))", Threads(ThreadAlgorithm.References, box));
    }

    [Fact]
    public void References_sorts_siblings_and_threads_by_sent_date()
    {
        var box = new[]
        {
            SearchTestMessage.Of(1, "Message-ID: <a@x>\nSubject: s\nDate: Mon, 4 Mar 2024 10:00:00 +0000"),
            SearchTestMessage.Of(2, "Message-ID: <b@x>\nReferences: <a@x>\nSubject: Re: s\nDate: Mon, 4 Mar 2024 12:00:00 +0000"),
            SearchTestMessage.Of(3, "Message-ID: <c@x>\nReferences: <a@x>\nSubject: Re: s\nDate: Mon, 4 Mar 2024 11:00:00 +0000"),
            SearchTestMessage.Of(4, "Message-ID: <d@x>\nReferences: <a@x>\nSubject: Re: s\nDate: Mon, 4 Mar 2024 11:00:00 +0000"),
            SearchTestMessage.Of(5, "Message-ID: <e@x>\nSubject: t\nDate: Sun, 3 Mar 2024 10:00:00 +0000"),
        };
        Assert.Equal("* THREAD (5)(1 (3)(4)(2))", Threads(ThreadAlgorithm.References, box)); // 3 and 4 tie: sequence order
    }

    [Fact]
    public void A_chain_twenty_thousand_deep_threads_without_recursion()
    {
        var box = Enumerable.Range(1, 20_000).Select(i => SearchTestMessage.Of((uint)i,
            $"Message-ID: <m{i}@x>\n" + (i > 1 ? $"In-Reply-To: <m{i - 1}@x>\n" : "") + "Subject: Re: long")).ToList();
        var answer = Threads(ThreadAlgorithm.References, box);
        // the loop check looks up at most MaxLoopCheck ancestors, so the chain is cut there and the parts gathered by subject
        Assert.StartsWith("* THREAD (", answer, StringComparison.Ordinal);
        Assert.Equal(20_000, answer.Split([' ', '(', ')'], StringSplitOptions.RemoveEmptyEntries).Length - 2);
        Assert.StartsWith("* THREAD ((1 2 3 4 5 ", answer, StringComparison.Ordinal);
    }
}
