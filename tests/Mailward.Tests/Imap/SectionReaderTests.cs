// SectionReader: sections stream with CRLF line ends whatever the file has, across the reader's
// block size; partial fetches cut the CRLF form (RFC 9051 §6.4.5 <n.m>); HEADER.FIELDS picks whole
// folded fields.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Structure;
using Mailward.Protocols.Imap.Fetch;
using Mailward.Tests.Support;

namespace Mailward.Tests.Imap;

public sealed class SectionReaderTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private (MessageStructure, MessageReader) Message(string text)
    {
        var file = _dir.Combine(Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(file, Encoding.Latin1.GetBytes(text));
        using (var f = File.OpenRead(file))
        {
            var s = StructureParser.Parse(f);
            return (s, new MessageReader(File.OpenHandle(file)));
        }
    }

    private static string Text(SectionContent c, long start = 0, long count = long.MaxValue) => Encoding.Latin1.GetString(c.ToArray(start, count));

    [Fact]
    public void The_whole_message_goes_with_crlf_and_its_length_is_rfc822_size()
    {
        var body = string.Concat(Enumerable.Range(0, 20000).Select(i => i % 3 == 0 ? $"line {i}\r\n" : $"line {i}\n"));
        var (s, r) = Message("Subject: big\n\n" + body);
        using (r)
        {
            var all = SectionReader.Open(s, r, Section.Whole);
            var text = Text(all);
            Assert.Equal(s.VirtualSize, all.Length);
            Assert.Equal(all.Length, text.Length);
            Assert.DoesNotContain("\n", text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
            Assert.Equal("Subject: big\r\n\r\n" + body.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal), text);
        }
    }

    [Fact]
    public async Task A_large_part_goes_out_in_blocks_never_held_whole()
    {
        // A 4 MiB attachment: the session sends what was written at each block, so what waits in
        // its buffer stays near one block (64 KiB, plus the CRs added to it), not the part.
        var part = string.Concat(Enumerable.Range(0, 4 * 16384).Select(i => $"{i:x62}\n"));
        var (s, r) = Message("Subject: big\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\ntext\n--b\nContent-Type: application/octet-stream\n\n" + part + "--b--\n");
        using (r)
        {
            var content = SectionReader.Open(s, r, new Section([2], SectionKind.Content));
            var output = new System.Buffers.ArrayBufferWriter<byte>();
            long sent = 0, most = 0, blocks = 0;
            var hash = new System.IO.Hashing.XxHash64();
            await content.CopyToAsync(output, 0, long.MaxValue, _ =>
            {
                most = Math.Max(most, output.WrittenCount);
                sent += output.WrittenCount;
                hash.Append(output.WrittenSpan);
                output.ResetWrittenCount(); // as the session's flush does
                blocks++;
                return ValueTask.CompletedTask;
            }, default);
            sent += output.WrittenCount;
            hash.Append(output.WrittenSpan);
            Assert.Equal(content.Length, sent);
            Assert.True(blocks >= 60, $"{blocks} blocks");
            Assert.True(most <= 70 * 1024, $"{most} bytes waited at once");
            Assert.Equal(System.IO.Hashing.XxHash64.HashToUInt64(Encoding.ASCII.GetBytes(part.Replace("\n", "\r\n", StringComparison.Ordinal)[..^2])), hash.GetCurrentHashAsUInt64());
        }
    }

    [Fact]
    public void Partial_fetches_cut_the_crlf_form_anywhere_even_between_cr_and_lf()
    {
        var (s, r) = Message("Subject: p\n\nab\ncd\nef\n");
        using (r)
        {
            var text = SectionReader.Open(s, r, new Section([], SectionKind.Text));
            var full = Text(text);
            Assert.Equal("ab\r\ncd\r\nef\r\n", full);
            for (var start = 0; start <= full.Length + 2; start++)
                for (var count = 0; count <= full.Length + 2; count++)
                    Assert.Equal(full.Substring(Math.Min(start, full.Length), Math.Max(0, Math.Min(count, full.Length - start))), Text(text, start, count));
        }
    }

    [Fact]
    public void Header_fields_keep_folded_lines_and_end_with_a_blank_line()
    {
        var (s, r) = Message("From: a@b\nSubject: folded\n  on two lines\nX-Other: 1\nsubject: again\n\nbody\n");
        using (r)
        {
            Assert.Equal("Subject: folded\r\n  on two lines\r\nsubject: again\r\n\r\n",
                Text(SectionReader.Open(s, r, new Section([], SectionKind.HeaderFields, ["SUBJECT"]))));
            Assert.Equal("From: a@b\r\nX-Other: 1\r\n\r\n", Text(SectionReader.Open(s, r, new Section([], SectionKind.HeaderFieldsNot, ["Subject"]))));
        }
    }

    [Fact]
    public void Mime_header_and_text_of_parts_and_of_a_message_part()
    {
        var (s, r) = Message("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: text/plain\n\nfirst\n--o\nContent-Type: message/rfc822\n\n"
            + "Subject: inner\n\ninner body\n--o--\n");
        using (r)
        {
            Assert.Equal("Content-Type: text/plain\r\n\r\n", Text(SectionReader.Open(s, r, new Section([1], SectionKind.Mime))));
            Assert.Equal("first", Text(SectionReader.Open(s, r, new Section([1], SectionKind.Content))));
            Assert.Equal("Subject: inner\r\n\r\n", Text(SectionReader.Open(s, r, new Section([2], SectionKind.Header))));
            Assert.Equal("inner body", Text(SectionReader.Open(s, r, new Section([2], SectionKind.Text))));
            Assert.Equal("inner body", Text(SectionReader.Open(s, r, new Section([2, 1], SectionKind.Content))));
            Assert.Equal(0, SectionReader.Open(s, r, new Section([1], SectionKind.Header)).Length); // not a message part
            Assert.Equal(0, SectionReader.Open(s, r, new Section([7], SectionKind.Content)).Length);
        }
    }
    /// <summary>The block converter whole BODY[] fetches use: a CR before every bare LF, none before an LF after a CR, also across blocks.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ToCrlf_puts_a_CR_before_every_bare_LF_across_blocks(int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[5000];
        for (var i = 0; i < bytes.Length; i++)
            bytes[i] = random.Next(5) switch { 0 => (byte)'\n', 1 => (byte)'\r', _ => (byte)'x' };
        var expected = new List<byte>();
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n' && (i == 0 || bytes[i - 1] != (byte)'\r'))
                expected.Add((byte)'\r');
            expected.Add(bytes[i]);
        }
        var output = new List<byte>();
        var last = (byte)0;
        for (var at = 0; at < bytes.Length;)
        {
            var n = Math.Min(bytes.Length - at, 1 + random.Next(300)); // blocks that split CR from LF
            var converted = new byte[2 * n];
            var written = SectionContent.ToCrlf(bytes.AsSpan(at, n), ref last, converted);
            output.AddRange(converted.AsSpan(0, written).ToArray());
            at += n;
        }
        Assert.Equal(expected, output);
    }
}
