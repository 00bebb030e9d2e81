// The transcript format of design.md: a conversation file that is a test and documentation at
// once. "C:" sends a line + CRLF (consecutive C: lines in one write: pipelining), "C!" raw bytes
// with \r \n \t \\ \xNN escapes, "S:" expects a reply line ('*' at the end matches any tail),
// "S: <closed>" expects the server to close, "@" lines set up fixtures, "=" lines assert afterwards.
// "C*N:" and "S*N:" repeat a line N times ({i} counts 1..N). Text outside ASCII (a file is UTF-8)
// is UTF-8 on the wire both ways; replies are read as octets (Latin-1), so an S: line is compared
// in that form. Beyond design.md, for what one conversation cannot show alone: a digit before a
// line ("2C:", "2S:") puts it in another session of the same server, opened at its first line;
// "!" lines are events between lines: "! starttls" and "! compress" (this side's TLS handshake or
// DEFLATE from here on, after the server's go-ahead), "! mail ADDRESS NAME TEXT" (a message
// delivered meanwhile, as @mail, and announced). "{=name}" in an S: line matches a number the
// server chose (a UIDVALIDITY) and a later C: line sends it in place of "{=name}".
using System.Globalization;
using System.Text;

namespace Mailward.Tests.Support;

public sealed record Transcript(string Name, string ClientAddress, IReadOnlyList<string> Fixtures, IReadOnlyList<Transcript.Step> Steps, IReadOnlyList<string> Assertions)
{
    /// <summary>One step of one session (1 unless the line began with its number).</summary>
    public abstract record Step(int Session);
    public sealed record Send(byte[] Bytes, int Session = 1) : Step(Session);
    public sealed record Expect(string Pattern, int Session = 1) : Step(Session);
    public sealed record ExpectClosed(int Session = 1) : Step(Session);

    /// <summary>A "!" line: the event's words, e.g. "starttls" or "mail joe@hosted.test m2 Subject: ...".</summary>
    public sealed record Act(string Text, int Session = 1) : Step(Session);

    public static Transcript Load(string path)
    {
        var fixtures = new List<string>();
        var steps = new List<Step>();
        var assertions = new List<string>();
        var client = "127.0.0.1";
        var pending = new List<byte>();
        var pendingSession = 1;
        void FlushSend()
        {
            if (pending.Count > 0)
                steps.Add(new Send([.. pending], pendingSession));
            pending.Clear();
        }
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var session = 1;
            if (line.Length > 1 && line[0] is >= '2' and <= '9' && line[1] is 'C' or 'S' or '!')
                (session, line) = (line[0] - '0', line[1..]);
            if (session != pendingSession)
            {
                FlushSend(); // one write never spans two sessions
                pendingSession = session;
            }
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
                    steps.Add(text == "<closed>" ? new ExpectClosed(session) : new Expect(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text)), session));
            }
            else if (line.StartsWith('!'))
            {
                FlushSend();
                steps.Add(new Act(line[1..].Trim(), session));
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

    /// <summary>
    /// Whether a reply line matches an S: pattern: '*' at its end matches any tail, and "{=name}"
    /// matches a number that later C: lines use as "{=name}" (a value the server chooses, such as a
    /// UIDVALIDITY): kept in <paramref name="captures"/>.
    /// </summary>
    public static bool Matches(string pattern, string actual, Dictionary<string, string> captures)
    {
        var at = 0;
        while (pattern.IndexOf("{=", StringComparison.Ordinal) is var open and >= 0)
        {
            var close = pattern.IndexOf('}', open);
            if (close < 0)
                throw new FormatException($"an S: line's \"{{=\" has no closing brace: {pattern}");
            var literal = pattern[..open];
            if (string.CompareOrdinal(actual, at, literal, 0, literal.Length) != 0 || actual.Length - at < literal.Length)
                return false;
            at += literal.Length;
            var digits = 0;
            while (at + digits < actual.Length && char.IsAsciiDigit(actual[at + digits]))
                digits++;
            if (digits == 0)
                return false;
            captures[pattern[(open + 2)..close]] = actual.Substring(at, digits);
            at += digits;
            pattern = pattern[(close + 1)..];
        }
        var rest = actual[at..];
        return pattern.EndsWith('*') ? rest.StartsWith(pattern[..^1], StringComparison.Ordinal) : rest == pattern;
    }

    /// <summary>The bytes to send with each "{=name}" replaced by its captured number.</summary>
    public static byte[] Substitute(byte[] bytes, Dictionary<string, string> captures)
    {
        if (captures.Count == 0 || bytes.AsSpan().IndexOf("{="u8) < 0)
            return bytes;
        var text = Encoding.Latin1.GetString(bytes);
        foreach (var (name, value) in captures)
            text = text.Replace("{=" + name + "}", value, StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(text);
    }
}
