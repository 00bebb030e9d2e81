// The differential test of issue 12: every message of Imap/Corpus is served by a private Dovecot
// (StructureDovecotServer) and rendered by Mailward's FETCH renderers from its cached structure;
// ENVELOPE, BODYSTRUCTURE, BODY, RFC822.SIZE and sections must be byte for byte equal, except the
// differences listed below, each documented in docs/imap.md "Differences from Dovecot" with the
// RFC section that makes Mailward right. A listed difference that no longer differs fails too.
using System.Globalization;
using System.Text;
using Mailward.Core.MailStore.Structure;
using Mailward.Protocols.Imap.Fetch;
using Mailward.Tests.Support;

namespace Mailward.Tests.Imap;

public class StructureVsDovecotTests
{
    /// <summary>(corpus file, FETCH item) → why Mailward's answer differs from Dovecot's (docs/imap.md).</summary>
    private static readonly Dictionary<(string File, string Item), string> Accepted = new()
    {
        [("09-rfc2231-charset.eml", "BODYSTRUCTURE")] = "RFC 9051 §7.5.2: parameters decoded per RFC 2231 (Dovecot only joins continuations)",
        [("09-rfc2231-charset.eml", "BODY")] = "RFC 9051 §7.5.2: parameters decoded per RFC 2231 (Dovecot only joins continuations)",
    };

    private static readonly string[] Items =
    [
        "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY", "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]",
        "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]", "BODY.PEEK[HEADER.FIELDS.NOT (FROM SUBJECT)]",
        "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[2]", "BODY.PEEK[1.2]", "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]", "BODY.PEEK[]<10.20>",
    ];

    public static string CorpusFolder()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Mailward.sln")))
            dir = dir.Parent;
        return Path.Combine(dir!.FullName, "tests", "Mailward.Tests", "Imap", "Corpus");
    }

    public static string[] CorpusFiles() => [.. Directory.GetFiles(CorpusFolder(), "*.eml").Order(StringComparer.Ordinal)];

    [FactWhenInstalled(StructureDovecotServer.ImapBinary, "dovecot-imapd")]
    public void Fetch_answers_equal_Dovecots_byte_for_byte_except_the_documented_differences()
    {
        Assert.True(Core.Posix.Libc.EffectiveUserId == 0, "Dovecot serves mail only after dropping root: run the tests as root, as .ci/run does");
        var files = CorpusFiles();
        Assert.True(files.Length >= 30, $"the corpus has {files.Length} messages; issue 12 asks for at least 30");
        using var dovecot = new StructureDovecotServer(files);
        using var client = new StructureImapClient(dovecot.Port);
        Assert.StartsWith("t1 OK", client.Command($"LOGIN {dovecot.User} {dovecot.Password}").Tagged);
        Assert.StartsWith("t2 OK", client.Command("SELECT INBOX").Tagged);
        var differences = new List<string>();
        var seenAccepted = new HashSet<(string, string)>();
        for (var i = 0; i < files.Length; i++)
        {
            var name = Path.GetFileName(files[i]);
            var structure = Parse(files[i]);
            foreach (var item in Items)
            {
                var (untagged, tagged) = client.Command($"UID FETCH {i + 1} ({item})");
                Assert.True(tagged.Contains(" OK ", StringComparison.Ordinal), $"{name} {item}: {tagged}\n{dovecot.Log}");
                var theirs = Value(untagged.Single(u => Encoding.Latin1.GetString(u).Contains(" FETCH (", StringComparison.Ordinal)));
                var ours = Ours(files[i], structure, item);
                var differs = !theirs.AsSpan().SequenceEqual(ours);
                if (Accepted.ContainsKey((name, item)))
                {
                    seenAccepted.Add((name, item));
                    if (!differs)
                        differences.Add($"{name} {item}: listed as an accepted difference, but the answers are equal now");
                }
                else if (differs)
                    differences.Add($"{name} {item}:\n  dovecot:  {Show(theirs)}\n  mailward: {Show(ours)}");
            }
        }
        Assert.True(differences.Count == 0, $"{differences.Count} differences:\n" + string.Join("\n", differences));
        Assert.Equal(Accepted.Count, seenAccepted.Count);
    }

    private static MessageStructure Parse(string file)
    {
        using var f = File.OpenRead(file);
        return StructureParser.Parse(f);
    }

    /// <summary>Mailward's value for one item, formatted as an IMAP server sends it.</summary>
    private static byte[] Ours(string file, MessageStructure s, string item)
    {
        if (item == "RFC822.SIZE")
            return Encoding.ASCII.GetBytes(s.VirtualSize.ToString(CultureInfo.InvariantCulture));
        if (item == "ENVELOPE")
            return EnvelopeWriter.Envelope(s);
        if (item is "BODYSTRUCTURE" or "BODY")
            return BodyStructureWriter.BodyStructure(s, extensible: item == "BODYSTRUCTURE");
        var spec = item["BODY.PEEK[".Length..];
        var close = spec.IndexOf(']', StringComparison.Ordinal);
        var section = SectionSyntax(spec[..close]);
        long start = 0, count = long.MaxValue;
        var partial = spec[(close + 1)..];
        if (partial.Length > 0)
        {
            var numbers = partial.Trim('<', '>').Split('.');
            (start, count) = (long.Parse(numbers[0], CultureInfo.InvariantCulture), long.Parse(numbers[1], CultureInfo.InvariantCulture));
        }
        using var reader = new Core.MailStore.MessageReader(File.OpenHandle(file));
        var content = SectionReader.Open(s, reader, section);
        if (content is null)
            return "NIL"u8.ToArray();
        var bytes = content.ToArray(start, count);
        return [.. Encoding.ASCII.GetBytes($"{{{bytes.Length}}}\r\n"), .. bytes];
    }

    /// <summary>"1.2.HEADER.FIELDS (A B)" → a Section (the test's items only; the lead's parser does this for FETCH).</summary>
    public static Section SectionSyntax(string text)
    {
        var numbers = new List<int>();
        var rest = text;
        while (rest.Length > 0 && char.IsAsciiDigit(rest[0]))
        {
            var dot = rest.IndexOf('.', StringComparison.Ordinal);
            var number = dot < 0 ? rest : rest[..dot];
            numbers.Add(int.Parse(number, CultureInfo.InvariantCulture));
            rest = dot < 0 ? "" : rest[(dot + 1)..];
        }
        IReadOnlyList<string>? fields = null;
        var paren = rest.IndexOf('(', StringComparison.Ordinal);
        if (paren >= 0)
        {
            fields = rest[(paren + 1)..rest.IndexOf(')', StringComparison.Ordinal)].Split(' ');
            rest = rest[..paren].Trim();
        }
        var kind = rest switch
        {
            "" => SectionKind.Content,
            "HEADER" => SectionKind.Header,
            "TEXT" => SectionKind.Text,
            "MIME" => SectionKind.Mime,
            "HEADER.FIELDS" => SectionKind.HeaderFields,
            "HEADER.FIELDS.NOT" => SectionKind.HeaderFieldsNot,
            _ => throw new ArgumentException(text),
        };
        return new Section([.. numbers], kind, fields);
    }

    /// <summary>The value of the one item in "* n FETCH (ITEM value)\r\n".</summary>
    private static byte[] Value(byte[] response)
    {
        var text = Encoding.Latin1.GetString(response);
        var open = text.IndexOf(" FETCH (", StringComparison.Ordinal) + 8;
        var at = open;
        if (text.AsSpan(at).StartsWith("UID ", StringComparison.Ordinal))
            at = text.IndexOf(' ', at + 4) + 1; // UID FETCH answers with the UID first
        if (text.AsSpan(at).StartsWith("BODY[", StringComparison.Ordinal))
            at = text.IndexOf(']', at) + 1;
        if (text[at] == '<')
            at = text.IndexOf('>', at) + 1;
        at = text.IndexOf(' ', at) + 1;
        return response[at..^3];
    }

    private static string Show(byte[] value) => Encoding.Latin1.GetString(value).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
