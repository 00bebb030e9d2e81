// A reader over one header value (an octet string) for the MIME and address headers the
// structure needs: whitespace and comments (RFC 5322 §3.2.2), tokens (RFC 2045 §5.1), atoms,
// quoted strings (§3.2.4). Line folding is removed before reading (RFC 5322 §2.2.3).
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
    public static string Unfold(string raw) => raw.Contains('\n', StringComparison.Ordinal) || raw.Contains('\r', StringComparison.Ordinal)
        ? raw.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal) : raw;

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

    /// <summary>An RFC 2045 token: up to whitespace, a control or a tspecial.</summary>
    public string ReadToken() => ReadWhile(static c => c > ' ' && c != '\x7f' && "()<>@,;:\\\"/[]?=".IndexOf(c, StringComparison.Ordinal) < 0);

    /// <summary>An RFC 5322 atom (dots allowed, as in dot-atom and obs-phrase).</summary>
    public string ReadAtom() => ReadWhile(static c => c > ' ' && c != '\x7f' && "()<>@,;:\\\"[]".IndexOf(c, StringComparison.Ordinal) < 0);

    private string ReadWhile(Func<char, bool> keep)
    {
        var start = _i;
        while (_i < _s.Length && keep(_s[_i]))
            _i++;
        return _s[start.._i];
    }

    /// <summary>At a '"': the quoted string's content with its escapes removed (an unterminated one runs to the end).</summary>
    public string ReadQuoted()
    {
        var sb = new StringBuilder();
        _i++;
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
