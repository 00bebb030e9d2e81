// The Authentication-Results header field (RFC 8601) the door adds to every message from a stranger,
// and the test for one that claims to come from this host (§5: such a field arriving from outside is
// a forgery and is removed before ours is added).
using System.Text;

namespace Mailward.Core.Policy;

/// <summary>One resinfo (§2.2): a method's result, an optional reason and its properties (ptype.property=value).</summary>
public sealed record AuthResult(string Method, string Result, IReadOnlyList<(string Property, string Value)> Properties, string? Comment = null);

public static class AuthenticationResults
{
    public const string FieldName = "Authentication-Results";

    /// <summary>The whole field with CRLF, each resinfo on its own folded line; "none" when nothing was checked (§2.2).</summary>
    public static string Format(string authservId, IReadOnlyList<AuthResult> results)
    {
        var sb = new StringBuilder(FieldName).Append(": ").Append(authservId).Append(';');
        if (results.Count == 0)
            return sb.Append(" none\r\n").ToString();
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i];
            sb.Append("\r\n\t").Append(r.Method).Append('=').Append(r.Result);
            if (r.Comment is { Length: > 0 } c)
                sb.Append(" (").Append(Printable(c)).Append(')');
            foreach (var (property, value) in r.Properties)
                sb.Append(' ').Append(property).Append('=').Append(Value(value));
            if (i < results.Count - 1)
                sb.Append(';');
        }
        return sb.Append("\r\n").ToString();
    }

    /// <summary>
    /// Whether a received Authentication-Results field's value names <paramref name="authservId"/>
    /// (case-insensitive, §2.5): then it is not ours to believe and is removed (§5).
    /// </summary>
    public static bool ClaimsHost(string value, string authservId) =>
        AuthservId(value) is { } id && id.Equals(authservId, StringComparison.OrdinalIgnoreCase);

    /// <summary>The authserv-id at the start of a field value: comments and white space skipped, a quoted string unquoted.</summary>
    public static string? AuthservId(string value)
    {
        var i = SkipCfws(value, 0);
        if (i >= value.Length)
            return null;
        if (value[i] == '"')
        {
            var sb = new StringBuilder();
            for (i++; i < value.Length && value[i] != '"'; i++)
                sb.Append(value[i] == '\\' && i + 1 < value.Length ? value[++i] : value[i]);
            return sb.ToString();
        }
        var start = i;
        while (i < value.Length && value[i] is not (';' or '(' or ' ' or '\t' or '\r' or '\n'))
            i++;
        return i > start ? value[start..i] : null;
    }

    private static int SkipCfws(string s, int i)
    {
        var depth = 0;
        for (; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '(')
                depth++;
            else if (c == ')' && depth > 0)
                depth--;
            else if (c == '\\' && depth > 0)
                i++;
            else if (depth == 0 && c is not (' ' or '\t' or '\r' or '\n'))
                return i;
        }
        return i;
    }

    /// <summary>A value as written when it is a plain name or address (§2.2's pvalue), else a quoted string.</summary>
    private static string Value(string v)
    {
        var printable = Printable(v);
        if (printable.Length > 0 && printable.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '@' or '+'))
            return printable;
        return '"' + printable.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + '"';
    }

    /// <summary>Text from the network in a header we write: printable ASCII only, nothing that could end the line.</summary>
    private static string Printable(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
            sb.Append(c is >= ' ' and < (char)127 and not '(' and not ')' ? c : '?');
        return sb.ToString();
    }
}
