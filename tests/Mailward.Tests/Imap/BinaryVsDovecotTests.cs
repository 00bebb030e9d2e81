// The differential test for BINARY (RFC 3516, RFC 9051 §6.4.5): every section of every message of
// Imap/Corpus (the corpus of StructureVsDovecotTests, served by the same private Dovecot) fetched
// as BINARY.PEEK[s], BINARY.PEEK[s]<2.7> and BINARY.SIZE[s] from Dovecot and rendered by Mailward's
// BinaryContent: equal byte for byte, except the differences below, each documented in
// docs/imap.md "Differences from Dovecot" with the RFC section that makes Mailward right. A listed
// difference that no longer differs, or a rule that no message shows any more, fails too.
using System.Globalization;
using System.Text;
using Mailward.Core.MailStore.Structure;
using Mailward.Protocols.Imap.Fetch;
using Mailward.Tests.Support;

namespace Mailward.Tests.Imap;

public class BinaryVsDovecotTests
{
    private const string SectionsOwnEncoding =
        "RFC 3516 §4.3: only the section's own encoding can fail it (Dovecot sizes the whole message, so one x-uuencode part fails BINARY.SIZE of every part)";

    private const string WholeMessage =
        "RFC 9051 §6.4.5, RFC 2045 §6.4: the whole message has no encoding to remove (Dovecot decodes every part inside and fails on the x-uuencode one)";

    /// <summary>(corpus file, FETCH item) → why Mailward's answer differs from Dovecot's (docs/imap.md).</summary>
    private static readonly Dictionary<(string File, string Item), string> Accepted = new()
    {
        [("37-binary-parts.eml", "BINARY.PEEK[6]")] = "RFC 2045 §6.8: characters outside the base64 alphabet are ignored (Dovecot answers NIL)",
        [("37-binary-parts.eml", "BINARY.PEEK[6]<2.7>")] = "RFC 2045 §6.8: characters outside the base64 alphabet are ignored (Dovecot answers NIL)",
        [("37-binary-parts.eml", "BINARY.SIZE[6]")] = "RFC 2045 §6.8: characters outside the base64 alphabet are ignored (Dovecot answers 0)",
        [("37-binary-parts.eml", "BINARY.SIZE[1]")] = SectionsOwnEncoding,
        [("37-binary-parts.eml", "BINARY.SIZE[2]")] = SectionsOwnEncoding,
        [("37-binary-parts.eml", "BINARY.SIZE[3]")] = SectionsOwnEncoding,
        [("37-binary-parts.eml", "BINARY.SIZE[5.1]")] = SectionsOwnEncoding,
        [("37-binary-parts.eml", "BINARY.PEEK[]")] = WholeMessage,
        [("37-binary-parts.eml", "BINARY.PEEK[]<2.7>")] = WholeMessage,
        [("37-binary-parts.eml", "BINARY.SIZE[]")] = WholeMessage,
    };

    private enum Rule
    {
        /// <summary>Dovecot sends every decoded section as a literal8; Mailward only one holding a NUL (RFC 9051 §7.5.2's SHOULD).</summary>
        Literal8OnlyForNul,

        /// <summary>A section that is not a leaf: Dovecot decodes the parts inside and rewrites their headers; Mailward sends it as it is (RFC 9051 §6.4.5).</summary>
        NotALeaf,
    }

    [FactWhenInstalled(StructureDovecotServer.ImapBinary, "dovecot-imapd")]
    public void Binary_answers_equal_Dovecots_byte_for_byte_except_the_documented_differences()
    {
        Assert.True(Core.Posix.Libc.EffectiveUserId == 0, "Dovecot serves mail only after dropping root: run the tests as root, as .ci/run does");
        var files = StructureVsDovecotTests.CorpusFiles();
        using var dovecot = new StructureDovecotServer(files);
        using var client = new StructureImapClient(dovecot.Port);
        Assert.StartsWith("t1 OK", client.Command($"LOGIN {dovecot.User} {dovecot.Password}").Tagged);
        Assert.StartsWith("t2 OK", client.Command("SELECT INBOX").Tagged);
        var differences = new List<string>();
        var seenAccepted = new HashSet<(string, string)>();
        var rules = new Dictionary<Rule, int>();
        var compared = 0;
        for (var i = 0; i < files.Length; i++)
        {
            var name = Path.GetFileName(files[i]);
            var structure = Parse(files[i]);
            foreach (var section in Sections(structure))
            {
                var rewritten = false; // Dovecot's BINARY[section] rewrote a part's header inside it
                foreach (var item in new[] { $"BINARY.PEEK[{section}]", $"BINARY.PEEK[{section}]<2.7>", $"BINARY.SIZE[{section}]" })
                {
                    var (untagged, tagged) = client.Command($"UID FETCH {i + 1} ({item})");
                    var theirs = tagged.Contains(" OK ", StringComparison.Ordinal)
                        ? Value(untagged.Single(u => Encoding.Latin1.GetString(u).Contains(" FETCH (", StringComparison.Ordinal)))
                        : Encoding.ASCII.GetBytes(tagged[(tagged.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
                    var ours = Ours(files[i], structure, item, out var decoded);
                    compared++;
                    var differs = !Equal(theirs, ours);
                    if (Accepted.ContainsKey((name, item)))
                    {
                        seenAccepted.Add((name, item));
                        if (!differs)
                            differences.Add($"{name} {item}: listed as an accepted difference, but the answers are equal now");
                        continue;
                    }
                    if (!differs)
                        continue;
                    var leaf = section.Length > 0 && structure.Find(Numbers(section)) is { Kind: BodyPartKind.Leaf } or null;
                    rewritten |= !leaf && !item.EndsWith('>') && theirs.AsSpan().IndexOf("Content-Transfer-Encoding: binary\r\n"u8) >= 0;
                    if (rewritten)
                        rules[Rule.NotALeaf] = rules.GetValueOrDefault(Rule.NotALeaf) + 1;
                    else if (decoded && Tilde(theirs) is { } plain && Equal(plain, ours))
                        rules[Rule.Literal8OnlyForNul] = rules.GetValueOrDefault(Rule.Literal8OnlyForNul) + 1;
                    else
                        differences.Add($"{name} {item}:\n  dovecot:  {Show(theirs)}\n  mailward: {Show(ours)}");
                }
            }
        }
        Assert.True(differences.Count == 0, $"{differences.Count} differences of {compared}:\n" + string.Join("\n", differences));
        Assert.Equal(Accepted.Count, seenAccepted.Count);
        foreach (var rule in Enum.GetValues<Rule>())
            Assert.True(rules.GetValueOrDefault(rule) > 0, $"no message shows the documented difference {rule} any more: update docs/imap.md and this test");
    }

    /// <summary>"" (the whole message) and the section number of every part, as IMAP numbers them, and one the message does not have.</summary>
    private static List<string> Sections(MessageStructure s)
    {
        var sections = new List<string> { "" };
        void Walk(BodyPart part, string prefix, bool top)
        {
            if (part.Kind == BodyPartKind.Multipart)
            {
                for (var n = 1; n <= part.Parts.Count; n++)
                {
                    var child = part.Parts[n - 1];
                    var number = prefix.Length == 0 ? $"{n}" : $"{prefix}.{n}";
                    sections.Add(number);
                    if (child.Kind == BodyPartKind.Message && child.Message is { } inner)
                        Walk(inner, number, top: true);
                    else
                        Walk(child, number, top: false);
                }
            }
            else if (top)
            {
                // A message that is not multipart has one part, 1: its body (RFC 9051 §6.4.5).
                var number = prefix.Length == 0 ? "1" : $"{prefix}.1";
                sections.Add(number);
                if (part.Kind == BodyPartKind.Message && part.Message is { } inner)
                    Walk(inner, number, top: true);
            }
        }
        Walk(s.Root, "", top: true);
        sections.Add("9");
        return sections;
    }

    private static int[] Numbers(string section) => [.. section.Split('.').Select(n => int.Parse(n, CultureInfo.InvariantCulture))];

    private static MessageStructure Parse(string file)
    {
        using var f = File.OpenRead(file);
        return StructureParser.Parse(f);
    }

    /// <summary>Mailward's value for one item as the session writes it; "NO [UNKNOWN-CTE]..." when it refuses.</summary>
    private static byte[] Ours(string file, MessageStructure s, string item, out bool decoded)
    {
        decoded = false;
        var open = item.IndexOf('[', StringComparison.Ordinal);
        var close = item.IndexOf(']', StringComparison.Ordinal);
        var section = item[(open + 1)..close];
        using var reader = new Core.MailStore.MessageReader(File.OpenHandle(file));
        var content = BinaryContent.Open(s, reader, section.Length == 0 ? [] : Numbers(section));
        if (content is null)
            return "NO [UNKNOWN-CTE]"u8.ToArray();
        decoded = content.Decodes;
        if (item.StartsWith("BINARY.SIZE", StringComparison.Ordinal))
            return Encoding.ASCII.GetBytes(content.Measure().Length.ToString(CultureInfo.InvariantCulture));
        long start = 0, count = long.MaxValue;
        if (item.EndsWith('>'))
            (start, count) = (2, 7);
        var (total, nul) = content.Measure(start, count);
        var bytes = new List<byte>();
        using (var blocks = content.Blocks())
            for (var block = blocks.Next(); !block.IsEmpty; block = blocks.Next())
                bytes.AddRange(block.ToArray());
        var window = bytes.Skip((int)Math.Min(start, total)).Take((int)Math.Min(count, total)).ToArray();
        return [.. Encoding.ASCII.GetBytes($"{(nul ? "~" : "")}{{{window.Length}}}\r\n"), .. window];
    }

    /// <summary>The value of the one item in "* n FETCH (UID u ITEM value)\r\n".</summary>
    private static byte[] Value(byte[] response)
    {
        var text = Encoding.Latin1.GetString(response);
        var at = text.IndexOf(" FETCH (", StringComparison.Ordinal) + 8;
        if (text.AsSpan(at).StartsWith("UID ", StringComparison.Ordinal))
            at = text.IndexOf(' ', at + 4) + 1;
        at = text.IndexOf(']', at) + 1;
        if (text[at] == '<')
            at = text.IndexOf('>', at) + 1;
        at = text.IndexOf(' ', at) + 1;
        return response[at..^3];
    }

    /// <summary>A "~{n}" literal as a "{n}" one; null when it is not a literal8.</summary>
    private static byte[]? Tilde(byte[] value) => value.Length > 0 && value[0] == (byte)'~' ? value[1..] : null;

    private static bool Equal(byte[] a, byte[] b) =>
        a.AsSpan().SequenceEqual(b) || a.AsSpan().StartsWith("NO [UNKNOWN-CTE]"u8) && b.AsSpan().StartsWith("NO [UNKNOWN-CTE]"u8);

    private static string Show(byte[] value) => Encoding.Latin1.GetString(value).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
