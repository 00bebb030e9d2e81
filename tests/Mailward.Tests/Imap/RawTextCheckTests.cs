// SEARCH BODY/TEXT's raw check (RawTextCheck) may only rule out what the full scan would not find:
// over the IMAP corpus and messages made to hide a word from the raw bytes (UTF-7, UTF-16,
// quoted-printable soft breaks, base64 text, encoded words, RFC 2231 values, the long s), every
// word the full scan (MessageTextSearch) finds is never ruled out, and on plain mail the check
// does rule words out (it is not idle).
using System.Text;
using Mailward.Protocols.Imap.Search;
using MimeKit;

namespace Mailward.Tests.Imap;

public class RawTextCheckTests
{
    private static readonly (string Name, string Raw, string Hidden)[] Hiding =
    [
        ("utf-7", "Subject: x\nContent-Type: text/plain; charset=utf-7\n\n+AG4-eedle in a haystack\n", "needle"),
        ("utf-16", "Subject: x\nContent-Type: text/plain; charset=\"utf-16le\"\n\nn\0e\0e\0d\0l\0e\0\n\0", "needle"),
        ("qp soft break", "Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nnee=\ndle and h=61ystack\n", "haystack"),
        ("qp soft break 2", "Subject: x\nContent-Transfer-Encoding: Quoted-Printable\n\nnee=\ndle\n", "needle"),
        ("base64 text", "Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: BASE64\n\nbmVlZGxl\n", "needle"),
        ("encoded word", "Subject: =?us-ascii?Q?n=65edle?=\n\nbody\n", "needle"),
        ("encoded word b", "From: =?utf-8?B?bmVlZGxl?= <a@example.com>\n\nbody\n", "needle"),
        ("rfc 2231", "Subject: x\nContent-Type: text/plain; name*=us-ascii''n%65edle\n\nbody\n", "needle"),
        ("long s", "Subject: x\nContent-Type: text/plain; charset=utf-8\n\n\u017Fecret\n", "secret"),
        ("dotless i", "Subject: x\nContent-Type: text/plain; charset=utf-8\n\nd\u0131g\n", "dig"),
        ("iso-2022-jp", "Subject: x\nContent-Type: text/plain; charset=iso-2022-jp\n\n\u001b(Bneedle\n", "needle"),
    ];

    private static IEnumerable<(string Name, byte[] Bytes)> Messages()
    {
        foreach (var file in StructureVsDovecotTests.CorpusFiles())
            yield return (Path.GetFileName(file), File.ReadAllBytes(file));
        foreach (var (name, raw, _) in Hiding)
            yield return (name, Encoding.UTF8.GetBytes(raw));
    }

    /// <summary>Words of the message as the scan sees them (decoded headers and text) and as stored.</summary>
    private static IEnumerable<string> Words(byte[] bytes)
    {
        var text = new StringBuilder(Encoding.Latin1.GetString(bytes));
        try
        {
            var message = MimeMessage.Load(new MemoryStream(bytes));
            foreach (var h in message.Headers)
                text.Append(' ').Append(h.Value);
            foreach (var part in message.BodyParts.OfType<TextPart>())
                text.Append(' ').Append(part.Text);
        }
        catch (FormatException)
        {
            // the raw words still count
        }
        return text.ToString().Split([' ', '\t', '\r', '\n', '<', '>', '"', '(', ')', ';', ',', '=', '\0'], StringSplitOptions.RemoveEmptyEntries)
            .Where(w => w.Length is >= 2 and <= 40).Distinct(StringComparer.Ordinal);
    }

    [Fact]
    public async Task A_word_the_full_scan_finds_is_never_ruled_out_and_plain_mail_is_ruled_out()
    {
        int compared = 0, ruledOut = 0;
        foreach (var (name, bytes) in Messages())
        {
            var plain = RawTextCheck.Plain(bytes);
            foreach (var word in Words(bytes).Concat(["needle", "haystack", "secret", "dig", "absentword"]))
            {
                var needle = new TextNeedle(SearchText.Fold(word), HeadersToo: true);
                if (!RawTextCheck.Decidable(needle))
                    continue;
                var found = (await MessageTextSearch.FindAsync(new MemoryStream(bytes), [needle]))[0];
                var out_ = plain && !RawTextCheck.Occurs(bytes, needle.Folded);
                Assert.False(found && out_, $"{name}: the scan finds \"{word}\" but the raw check rules it out");
                compared++;
                ruledOut += out_ ? 1 : 0;
            }
        }
        Assert.True(compared > 1000, $"only {compared} comparisons");
        Assert.True(ruledOut > 30, $"the raw check ruled out only {ruledOut} words");
    }

    [Fact]
    public async Task Each_hiding_message_is_found_by_SEARCH_TEXT_and_is_not_plain()
    {
        foreach (var (name, raw, hidden) in Hiding)
        {
            var bytes = Encoding.UTF8.GetBytes(raw);
            Assert.False(RawTextCheck.Plain(bytes), name);
            var query = SearchQuery.Parse(SearchQueryTests.Args("TEXT " + hidden), 0, out var error)!;
            Assert.Null(error);
            var full = (await MessageTextSearch.FindAsync(new MemoryStream(bytes), [new TextNeedle(SearchText.Fold(hidden), true)]))[0];
            var answer = await query.MatchesAsync(new SearchTestMessage(1, raw), new SearchContext(1, 2, TimeZoneInfo.Utc));
            Assert.Equal(full, answer);
        }
    }

    [Fact]
    public void Occurs_is_ASCII_case_insensitive_and_finds_a_needle_at_either_end()
    {
        var message = "Needle in the middle, at the end: NEEDLE"u8;
        Assert.True(RawTextCheck.Occurs(message, "NEEDLE"));
        Assert.True(RawTextCheck.Occurs("xneEDle"u8, "NEEDLE"));
        Assert.True(RawTextCheck.Occurs("needle"u8, "NEEDLE"));
        Assert.False(RawTextCheck.Occurs("needl"u8, "NEEDLE"));
        Assert.False(RawTextCheck.Occurs("n e e d l e"u8, "NEEDLE"));
        Assert.True(RawTextCheck.Occurs("a1-2b"u8, "1-2"));
        Assert.True(RawTextCheck.Plain("Subject: x\nContent-Type: text/plain; charset=\"ISO-8859-15\"\n\nhello\n"u8));
        Assert.False(RawTextCheck.Plain("Subject: x\nContent-Type: text/plain; charset=koi8-r\n\nhello\n"u8));
        Assert.False(RawTextCheck.Decidable(new TextNeedle("TWO WORDS", true)));
        Assert.False(RawTextCheck.Decidable(new TextNeedle("GRÜSSE", true)));
    }
}
