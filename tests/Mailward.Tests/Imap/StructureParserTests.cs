// StructureParser on hostile and plain input: limits turn the rest of a message into one opaque
// part (never an error), sizes and lines count CRLF whatever the file's line ends, and section
// numbers find parts inside message/rfc822 parts (RFC 9051 §6.4.5).
using System.Text;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Tests.Imap;

public class StructureParserTests
{
    private static MessageStructure Parse(string text, StructureLimits? limits = null) =>
        StructureParser.Parse(new MemoryStream(Encoding.Latin1.GetBytes(text)), limits);

    private static int Depth(BodyPart p) => 1 + Math.Max(p.Parts.Count == 0 ? 0 : p.Parts.Max(Depth), p.Message is null ? 0 : Depth(p.Message));

    private static int Count(BodyPart p) => 1 + p.Parts.Sum(Count) + (p.Message is null ? 0 : Count(p.Message));

    private static string Nested(int depth) => "Subject: deep\n" + string.Concat(Enumerable.Range(0, depth).Select(i => $"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"))
        + "Content-Type: text/plain\n\ncore\n" + string.Concat(Enumerable.Range(0, depth).Reverse().Select(i => $"--b{i}--\n"));

    [Fact]
    public void Nesting_past_the_depth_limit_stays_one_part_and_costs_bounded_time()
    {
        var started = DateTime.UtcNow;
        var s = Parse(Nested(5000), new StructureLimits(MaxDepth: 50));
        Assert.True(Depth(s.Root) <= 51, $"depth {Depth(s.Root)}");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
        Assert.Equal(11, Depth(Parse(Nested(10)).Root)); // within the limit every level is there
    }

    [Fact]
    public void A_multipart_past_the_part_limit_becomes_one_opaque_part()
    {
        var text = "Subject: many\nContent-Type: multipart/mixed; boundary=m\n\n"
            + string.Concat(Enumerable.Range(0, 3000).Select(i => $"--m\nContent-Type: text/plain\n\npart {i}\n")) + "--m--\n";
        var s = Parse(text, new StructureLimits(MaxParts: 1000));
        Assert.Equal(BodyPartKind.Leaf, s.Root.Kind);
        Assert.Equal("multipart", s.Root.Type);
        Assert.Equal(s.Root.Body.Length, text.Length - text.IndexOf("\n\n", StringComparison.Ordinal) - 2);
        Assert.Equal(3001, Count(Parse(text).Root)); // under the default limit: every part
    }

    [Fact]
    public void Parameters_and_addresses_are_capped()
    {
        var text = "To: " + string.Join(", ", Enumerable.Range(0, 5000).Select(i => $"u{i}@example.org")) + "\n"
            + "Content-Type: text/plain" + string.Concat(Enumerable.Range(0, 500).Select(i => $"; p{i}=v")) + "\n\nbody\n";
        var s = Parse(text, new StructureLimits(MaxParameters: 10, MaxAddresses: 100));
        Assert.Equal(100, s.Root.Envelope!.To!.Count);
        Assert.Equal(10, s.Root.Parameters.Count);
    }

    [Fact]
    public void Sizes_and_lines_count_crlf_for_lf_crlf_and_mixed_files()
    {
        var lf = Parse("Subject: x\n\na\nb\n");
        var crlf = Parse("Subject: x\r\n\r\na\r\nb\r\n");
        var mixed = Parse("Subject: x\r\n\na\r\nb\n");
        foreach (var s in new[] { lf, crlf, mixed })
        {
            Assert.Equal(20, s.VirtualSize);
            Assert.Equal(new Region(s.Root.Header.Offset, s.Root.Header.Length, 14, 2), s.Root.Header);
            Assert.Equal(6, s.Root.Body.Size);
            Assert.Equal(2, s.Root.Body.Lines);
        }
        Assert.Equal(16, lf.Size);
    }

    [Fact]
    public void Section_numbers_go_inside_message_parts()
    {
        var s = Parse("Content-Type: multipart/mixed; boundary=o\n\n--o\n\nfirst\n--o\nContent-Type: message/rfc822\n\n"
            + "Subject: inner\nContent-Type: multipart/alternative; boundary=i\n\n--i\n\ninner one\n--i\n\ninner two\n--i--\n--o--\n");
        Assert.Equal("text", s.Find([1])!.Type);
        Assert.Equal(BodyPartKind.Message, s.Find([2])!.Kind);
        Assert.Equal("inner", s.Find([2])!.Message!.Envelope!.Subject);
        Assert.Equal(BodyPartKind.Leaf, s.Find([2, 2])!.Kind);
        Assert.Null(s.Find([2, 3]));
        Assert.Null(s.Find([3]));
        var single = Parse("Subject: one\n\nbody\n");
        Assert.Same(single.Root, single.Find([1]));
        Assert.Null(single.Find([1, 1]));
    }

    [Fact]
    public void A_file_that_is_not_a_message_is_one_plain_part()
    {
        var s = Parse("\x01\x02 not a header at all\n\x00\x00");
        Assert.Equal("text", s.Root.Type);
        Assert.Equal(s.Size, s.Root.Header.Length + s.Root.Body.Length + (s.Root.Body.Offset - s.Root.Header.End));
    }
}
