// The IMAP command parser on its own: tokens, literals across lines, and its bounds.
using Mailward.Protocols.Imap;

namespace Mailward.Tests.Imap;

public class ImapCommandParserTests
{
    private static ImapCommandParser Parser() => new(new ImapParserLimits(MaxDepth: 4, MaxLiterals: 2, MaxTokens: 50));

    [Fact]
    public void Atoms_strings_lists_and_bracketed_fetch_items()
    {
        var p = Parser();
        var step = p.Feed("a1 uid fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>) \"q \\\" s\"");
        Assert.Equal(ParseStatus.Complete, step.Status);
        Assert.Equal("a1", p.Tag);
        Assert.Equal("UID FETCH", p.Name);
        Assert.Equal(3, p.Arguments.Count);
        Assert.Equal("1:*", p.Arguments[0].Text);
        Assert.Equal(["FLAGS", "BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100>"], p.Arguments[1].Items.Select(i => i.Text));
        Assert.Equal(ImapTokenKind.Text, p.Arguments[2].Kind);
        Assert.Equal("q \" s", p.Arguments[2].Text);
    }

    [Fact]
    public void A_literal_inside_a_list_resumes_on_the_next_line()
    {
        var p = Parser();
        var step = p.Feed("t LOGIN (x {5+}");
        Assert.Equal(new ParseStep(ParseStatus.NeedLiteral, 5, false), step);
        Assert.True(p.InList);
        p.AddLiteral("hello");
        Assert.Equal(ParseStatus.Complete, p.Feed(" y) z").Status);
        Assert.Equal(["x", "hello", "y"], p.Arguments[0].Items.Select(i => i.Text));
        Assert.True(p.Arguments[0].Items[1].IsLiteral);
        Assert.Equal("z", p.Arguments[1].Text);
    }

    [Theory]
    [InlineData("t X ((((((a))))))", "lists nested too deeply")]
    [InlineData("t X (a", "unbalanced parenthesis")]
    [InlineData("t X a)", "unbalanced parenthesis")]
    [InlineData("t X \"open", "unterminated quoted string")]
    [InlineData("t X \"bad \\n\"", "invalid escape in quoted string")]
    [InlineData("t* NOOP", "invalid tag")]
    [InlineData("t", "command missing")]
    [InlineData("t X a[b", "unbalanced bracket")]
    public void Malformed_commands_fail_with_a_reason(string line, string error)
    {
        var step = Parser().Feed(line);
        Assert.Equal(ParseStatus.Error, step.Status);
        Assert.Equal(error, step.Error);
    }

    [Fact]
    public void Literals_and_tokens_are_counted()
    {
        var p = Parser();
        Assert.Equal(ParseStatus.NeedLiteral, p.Feed("t X {1}").Status);
        p.AddLiteral("a");
        Assert.Equal(ParseStatus.NeedLiteral, p.Feed(" {1}").Status);
        p.AddLiteral("b");
        Assert.Equal("too many literals", p.Feed(" {1}").Error);
        Assert.Equal("too many arguments", Parser().Feed("t X " + string.Join(' ', Enumerable.Repeat("a", 51))).Error);
    }

    [Theory]
    [InlineData("{12}", 12L, true)]
    [InlineData("{0+}", 0L, false)]
    [InlineData("{2147483648}", 2147483648L, true)]
    public void Literal_announcements(string text, long size, bool sync) =>
        Assert.Equal((size, sync, false), ImapCommandParser.LiteralAt("x " + text, 2));

    [Theory]
    [InlineData("{}")]
    [InlineData("{-1}")]
    [InlineData("{1234567890123}")]
    [InlineData("{1 }")]
    public void Not_literal_announcements(string text) => Assert.Null(ImapCommandParser.LiteralAt("x " + text, 2));

    [Fact]
    public void Sequence_sets()
    {
        var s = SequenceSet.Parse("1:3,7,9:*")!;
        Assert.True(s.Contains(2, 20));
        Assert.False(s.Contains(8, 20));
        Assert.True(s.Contains(20, 20));
        Assert.True(SequenceSet.Parse("5:2")!.Contains(3, 9));
        Assert.Null(SequenceSet.Parse("0"));
        Assert.Null(SequenceSet.Parse("1,,2"));
        Assert.Null(SequenceSet.Parse("01"));
        Assert.Equal("1:3,7,9", SequenceSet.Format([1, 2, 3, 7, 9]));
    }
}
