// A reader over one header value (an octet string) for the MIME and address headers the
// structure needs: whitespace and comments (RFC 5322 §3.2.2), tokens (RFC 2045 §5.1), atoms,
// quoted strings (§3.2.4). Line folding is removed before reading (RFC 5322 §2.2.3).
using System.Buffers;
using System.Text;

namespace Mailward.Core.MailStore.Structure;

internal ref struct HeaderTokens(string value)
{
    private readonly string _s = value;
    private int _i;

    public readonly bool AtEnd => _i >= _s.Length;
    public readonly char Peek => _i < _s.Length ? _s[_i] : '\0';
    public int Position { readonly get => _i; set => _i = value; }

    /// <summary>The value with CR and LF removed: a folded header on one line.</summary>
    public static string Unfold(string raw)
    {
        var breaks = raw.AsSpan().Count('\r') + raw.AsSpan().Count('\n');
        return breaks == 0 ? raw : string.Create(raw.Length - breaks, raw, static (into, from) =>
        {
            var j = 0;
            foreach (var c in from)
                if (c is not ('\r' or '\n'))
                    into[j++] = c;
        });
    }

    public void Skip() => _i++;

    /// <summary>Skips whitespace and comments; returns the text of the last comment seen, if any.</summary>
    public string? SkipCfws()
    {
        string? comment = null;
        while (_i < _s.Length)
        {
            var c = _s[_i];
            if (c is ' ' or '\t')
                _i++;
            else if (c == '(')
                comment = ReadComment();
            else
                break;
        }
        return comment;
    }

    private string ReadComment()
    {
        var sb = new StringBuilder();
        var depth = 0;
        while (_i < _s.Length)
        {
            var c = _s[_i++];
            if (c == '\\' && _i < _s.Length)
            {
                sb.Append(_s[_i++]);
                continue;
            }
            if (c == '(' && depth++ == 0)
                continue;
            if (c == ')' && --depth == 0)
                break;
            sb.Append(c);
        }
        return sb.ToString();
    }

    // What ends a token or an atom: a control, space, DEL or a special.
    private const string Controls = "\0\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f \x7f";
    private static readonly SearchValues<char> TokenEnds = SearchValues.Create(Controls + "()<>@,;:\\\"/[]?=");
    private static readonly SearchValues<char> AtomEnds = SearchValues.Create(Controls + "()<>@,;:\\\"[]");

    /// <summary>An RFC 2045 token: up to whitespace, a control or a tspecial.</summary>
    public string ReadToken() => ReadUntil(TokenEnds);

    /// <summary>An RFC 5322 atom (dots allowed, as in dot-atom and obs-phrase).</summary>
    public string ReadAtom() => ReadUntil(AtomEnds);

    private string ReadUntil(SearchValues<char> ends)
    {
        var start = _i;
        var length = _s.AsSpan(start).IndexOfAny(ends);
        _i = length < 0 ? _s.Length : start + length;
        return _s[start.._i];
    }

    /// <summary>At a '"': the quoted string's content with its escapes removed (an unterminated one runs to the end).</summary>
    public string ReadQuoted()
    {
        _i++;
        // Most quoted strings hold no escape: the text between the quotes as it is.
        var end = _s.AsSpan(_i).IndexOfAny('"', '\\');
        if (end >= 0 && _s[_i + end] == '"')
        {
            var text = _s.Substring(_i, end);
            _i += end + 1;
            return text;
        }
        var sb = new StringBuilder();
        while (_i < _s.Length)
        {
            var c = _s[_i++];
            if (c == '"')
                break;
            if (c == '\\' && _i < _s.Length)
                c = _s[_i++];
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>At a '[': a domain literal with its brackets, as written.</summary>
    public string ReadLiteral()
    {
        var start = _i;
        while (_i < _s.Length && _s[_i] != ']')
            _i += _s[_i] == '\\' && _i + 1 < _s.Length ? 2 : 1;
        if (_i < _s.Length)
            _i++;
        return _s[start.._i];
    }

    /// <summary>A token or a quoted string, whichever comes.</summary>
    public string? ReadValue()
    {
        SkipCfws();
        if (Peek == '"')
            return ReadQuoted();
        var t = ReadToken();
        return t.Length > 0 ? t : null;
    }
}
