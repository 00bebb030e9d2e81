// The IMAP command parser (RFC 9051 §2.2, §4, §9): pure and resumable. A command arrives as lines
// and literals: Feed takes one line (without CRLF) and either completes the command or asks for a
// literal of N octets ({N} synchronizing, {N+} not: RFC 7888); AddLiteral gives it, and the next
// Feed goes on where the line stopped. Lists nest to a bound, literals and tokens are counted, so
// no input makes it hold more than the limits allow.
using System.Text;

namespace Mailward.Protocols.Imap;

public enum ParseStatus
{
    Complete,
    NeedLiteral,
    Error,
}

/// <summary>What Feed came to; for a literal, its size, whether it is synchronizing, and whether it is a literal8 ("~{N}", RFC 3516 §4.4).</summary>
public readonly record struct ParseStep(ParseStatus Status, long LiteralSize = 0, bool Synchronizing = false, string Error = "", bool Binary = false);

public sealed record ImapParserLimits(int MaxDepth = 16, int MaxLiterals = 16, int MaxTokens = 10_000);

public sealed class ImapCommandParser(ImapParserLimits limits)
{
    private readonly Stack<List<ImapToken>> _open = new();
    private List<ImapToken> _top = [];
    private int _tokens;
    private int _literals;

    /// <summary>The command's tag; null until the first line gave one.</summary>
    public string? Tag { get; private set; }

    /// <summary>The command's name, upper case; "UID FETCH" style for UID commands.</summary>
    public string Name { get; private set; } = "";

    /// <summary>The arguments at the top level (lists hold their own).</summary>
    public IReadOnlyList<ImapToken> Arguments => _top;

    /// <summary>True while the parser is inside a parenthesised list (the literal asked for belongs to it).</summary>
    public bool InList => _open.Count > 0;

    public void Reset()
    {
        _open.Clear();
        _top = [];
        _tokens = 0;
        _literals = 0;
        Tag = null;
        Name = "";
    }

    /// <summary>Parses one line (the first of a command, or the rest after a literal).</summary>
    public ParseStep Feed(string line)
    {
        var pos = 0;
        if (Tag is null)
        {
            var end = line.IndexOf(' ');
            var tag = end < 0 ? line : line[..end];
            if (tag.Length == 0 || !tag.All(IsTagChar))
                return Fail("invalid tag");
            Tag = tag;
            if (end < 0)
                return Fail("command missing");
            pos = end + 1;
            var nameEnd = line.IndexOf(' ', pos);
            Name = (nameEnd < 0 ? line[pos..] : line[pos..nameEnd]).ToUpperInvariant();
            if (Name.Length == 0 || !Name.All(c => c is >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '.' or '='))
                return Fail("invalid command name");
            pos = nameEnd < 0 ? line.Length : nameEnd;
        }
        var current = _open.Count > 0 ? _open.Peek() : _top;
        while (pos < line.Length)
        {
            var c = line[pos];
            if (c == ' ')
            {
                pos++;
                continue;
            }
            if (++_tokens > limits.MaxTokens)
                return Fail("too many arguments");
            switch (c)
            {
                case '(':
                    if (_open.Count >= limits.MaxDepth)
                        return Fail("lists nested too deeply");
                    var list = new List<ImapToken>();
                    current.Add(ImapToken.List(list));
                    _open.Push(list);
                    current = list;
                    pos++;
                    continue;
                case ')':
                    if (_open.Count == 0)
                        return Fail("unbalanced parenthesis");
                    _open.Pop();
                    current = _open.Count > 0 ? _open.Peek() : _top;
                    pos++;
                    continue;
                case '"':
                    var text = new StringBuilder();
                    pos++;
                    while (true)
                    {
                        if (pos >= line.Length)
                            return Fail("unterminated quoted string");
                        var q = line[pos++];
                        if (q == '"')
                            break;
                        if (q == '\\')
                        {
                            if (pos >= line.Length || line[pos] is not ('"' or '\\'))
                                return Fail("invalid escape in quoted string");
                            q = line[pos++];
                        }
                        text.Append(q);
                    }
                    current.Add(ImapToken.Str(text.ToString()));
                    continue;
                case '{' or '~' when LiteralAt(line, pos) is { } literal:
                    if (++_literals > limits.MaxLiterals)
                        return Fail("too many literals");
                    // A literal8 only carries APPEND's message (RFC 3516 §4.4; RFC 9051 §4.3.1); the session streams it.
                    if (literal.Binary && (Name != "APPEND" || _open.Count > 0))
                        return Fail("binary literals are not supported here");
                    return new ParseStep(ParseStatus.NeedLiteral, literal.Size, literal.Sync, Binary: literal.Binary);
                default:
                    var start = pos;
                    var bracket = 0;
                    while (pos < line.Length)
                    {
                        var a = line[pos];
                        if (a == '[')
                            bracket++;
                        else if (a == ']' && bracket > 0)
                            bracket--;
                        else if (bracket == 0 && (a is ' ' or '(' or ')' or '"' or '{' || a < ' ' || a == 0x7f))
                            break;
                        pos++;
                    }
                    if (bracket > 0)
                        return Fail("unbalanced bracket");
                    if (pos == start)
                        return Fail($"unexpected character 0x{(int)line[pos]:X2}");
                    var atom = line[start..pos];
                    if (current == _top && _top.Count == 0 && Name == "UID")
                        Name = "UID " + atom.ToUpperInvariant(); // UID FETCH, UID STORE, ...: one command
                    else
                        current.Add(ImapToken.Atom(atom));
                    continue;
            }
        }
        if (_open.Count > 0)
            return Fail("unbalanced parenthesis");
        return new ParseStep(ParseStatus.Complete);
    }

    /// <summary>The literal the last Feed asked for.</summary>
    public void AddLiteral(string text) => (_open.Count > 0 ? _open.Peek() : _top).Add(ImapToken.Str(text, literal: true));

    /// <summary>A literal announcement that ends the line: "{N}", "{N+}" or "~{N}" (RFC 9051 §4.3, RFC 7888, RFC 3516).</summary>
    public static (long Size, bool Sync, bool Binary)? LiteralAt(string line, int pos)
    {
        var binary = line[pos] == '~';
        if (binary)
            pos++;
        if (pos >= line.Length || line[pos] != '{' || line[^1] != '}')
            return null;
        var inner = line.AsSpan(pos + 1, line.Length - pos - 2);
        var sync = true;
        if (inner.Length > 0 && inner[^1] == '+')
        {
            sync = false;
            inner = inner[..^1];
        }
        if (inner.Length is 0 or > 12 || !long.TryParse(inner, System.Globalization.NumberStyles.None, null, out var size))
            return null;
        return (size, sync, binary);
    }

    private static bool IsTagChar(char c) => c > ' ' && c < 0x7f && c is not ('(' or ')' or '{' or '%' or '*' or '"' or '\\' or '+');

    private static ParseStep Fail(string error) => new(ParseStatus.Error, Error: error);
}
