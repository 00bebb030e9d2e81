// The transcript format of design.md: a conversation file that is a test and documentation at
// once. "C:" sends a line + CRLF (consecutive C: lines in one write: pipelining), "C!" raw bytes
// with \r \n \t \\ \xNN escapes, "S:" expects a reply line ('*' at the end matches any tail),
// "S: <closed>" expects the server to close, "@" lines set up fixtures, "=" lines assert afterwards.
// "C*N:" and "S*N:" repeat a line N times ({i} counts 1..N). Text outside ASCII (a file is UTF-8)
// is UTF-8 on the wire both ways; replies are read as octets (Latin-1), so an S: line is compared
// in that form.
using System.Globalization;
using System.Text;

namespace Mailward.Tests.Support;

public sealed record Transcript(string Name, string ClientAddress, IReadOnlyList<string> Fixtures, IReadOnlyList<Transcript.Step> Steps, IReadOnlyList<string> Assertions)
{
    public abstract record Step;
    public sealed record Send(byte[] Bytes) : Step;
    public sealed record Expect(string Pattern) : Step;
    public sealed record ExpectClosed : Step;

    public static Transcript Load(string path)
    {
        var fixtures = new List<string>();
        var steps = new List<Step>();
        var assertions = new List<string>();
        var client = "127.0.0.1";
        var pending = new List<byte>();
        void FlushSend()
        {
            if (pending.Count > 0)
                steps.Add(new Send([.. pending]));
            pending.Clear();
        }
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            if (line.StartsWith("@client ", StringComparison.Ordinal))
                client = line[8..].Trim();
            else if (line.StartsWith('@'))
                fixtures.Add(line[1..]);
            else if (line.StartsWith('='))
                assertions.Add(line[1..].Trim());
            else if (line.StartsWith("C:", StringComparison.Ordinal) || line.StartsWith("C*", StringComparison.Ordinal) && line[2] != '!')
            {
                foreach (var text in Repeat(line, 'C'))
                    pending.AddRange(Encoding.UTF8.GetBytes(text + "\r\n"));
            }
            else if (line.StartsWith("C!", StringComparison.Ordinal))
                pending.AddRange(Unescape(line[2..].TrimStart()));
            else if (line.StartsWith('S'))
            {
                FlushSend();
                foreach (var text in Repeat(line, 'S'))
                    steps.Add(text == "<closed>" ? new ExpectClosed() : new Expect(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text))));
            }
            else
                throw new FormatException($"{path}: cannot read line: {line}");
        }
        FlushSend();
        return new Transcript(Path.GetFileName(path), client, fixtures, steps, assertions);
    }

    /// <summary>"C: x" is one line; "C*3: x{i}" is x1, x2, x3.</summary>
    private static IEnumerable<string> Repeat(string line, char kind)
    {
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var text = line[(colon + 1)..];
        if (text.StartsWith(' '))
            text = text[1..];
        var count = line[1] == '*' ? int.Parse(line[2..colon], CultureInfo.InvariantCulture) : 1;
        for (var i = 1; i <= count; i++)
            yield return text.Replace("{i}", i.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        _ = kind;
    }

    public static byte[] Unescape(string s)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\' || i + 1 >= s.Length)
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
                continue;
            }
            var c = s[++i];
            switch (c)
            {
                case 'r': bytes.Add((byte)'\r'); break;
                case 'n': bytes.Add((byte)'\n'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case '0': bytes.Add(0); break;
                case '\\': bytes.Add((byte)'\\'); break;
                case 'x':
                    bytes.Add(byte.Parse(s.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                    break;
                default: throw new FormatException($"unknown escape \\{c}");
            }
        }
        return [.. bytes];
    }

    public static bool Matches(string pattern, string actual) =>
        pattern.EndsWith('*') ? actual.StartsWith(pattern[..^1], StringComparison.Ordinal) : actual == pattern;
}
