// Parses the paths of MAIL FROM and RCPT TO (RFC 5321 §4.1.2): "<>" (the null reverse-path),
// "<local@domain>", quoted local parts, address literals, and source routes, which are accepted
// and ignored as §4.1.1.3 and Appendix C ask. Bounded by §4.5.3.1 (local 64, domain 255, path 256).
using System.Text;

namespace Mailward.Protocols.Smtp;

public sealed record SmtpPath(string LocalPart, string Domain, bool DomainIsLiteral, bool HadSourceRoute)
{
    public static readonly SmtpPath Null = new("", "", false, false);

    public bool IsNull => LocalPart.Length == 0 && Domain.Length == 0;

    /// <summary>The address as it travels on: local part as written (quotes kept), domain in lower case.</summary>
    public string Address => IsNull ? "" : $"{LocalPart}@{Domain}";

    /// <summary>The local part without quoting, for matching against mailboxes.</summary>
    public string LocalValue => LocalPart.Length > 1 && LocalPart[0] == '"' ? Unquote(LocalPart) : LocalPart;

    private const string Atext = "!#$%&'*+-/=?^_`{|}~";

    /// <summary>
    /// Parses "&lt;path&gt; params" (leading spaces allowed; a bare address without brackets is
    /// accepted as Postfix does). Returns the path and the rest (the ESMTP parameters), or an error.
    /// </summary>
    public static bool TryParse(string text, bool allowNull, out SmtpPath path, out string parameters, out string error)
    {
        path = Null;
        parameters = "";
        error = "";
        var s = text.TrimStart(' ');
        string inner;
        if (s.StartsWith('<'))
        {
            var close = FindClose(s);
            if (close < 0)
            {
                error = "missing '>'";
                return false;
            }
            inner = s[1..close];
            parameters = s[(close + 1)..];
            if (parameters.Length > 0 && parameters[0] != ' ')
            {
                error = "text after '>' must be parameters";
                return false;
            }
        }
        else
        {
            // No path at all ("MAIL FROM:"): the null sender must be written "<>" (RFC 5321
            // §4.1.1.2, §4.1.2), so this is a syntax error, as Postfix answers it.
            if (s.Trim(' ').Length == 0)
            {
                error = allowNull ? "the null sender is written <>" : "the null path is not allowed here";
                return false;
            }
            var space = s.IndexOf(' ', StringComparison.Ordinal);
            inner = space < 0 ? s : s[..space];
            parameters = space < 0 ? "" : s[space..];
        }
        parameters = parameters.Trim(' ');
        if (inner.Length > 256)
        {
            error = "path too long";
            return false;
        }
        if (inner.Length == 0)
        {
            if (!allowNull)
                error = "the null path is not allowed here";
            return allowNull;
        }
        var routed = false;
        if (inner[0] == '@')
        {
            // A-d-l ":" Mailbox: the route is ignored (RFC 5321 §3.3, Appendix C).
            var colon = inner.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || !inner[..colon].Split(',').All(h => h.Length > 1 && h[0] == '@'))
            {
                error = "bad source route";
                return false;
            }
            inner = inner[(colon + 1)..];
            routed = true;
        }
        return TryMailbox(inner, routed, out path, out error);
    }

    private static bool TryMailbox(string s, bool routed, out SmtpPath path, out string error)
    {
        path = Null;
        string local;
        int at;
        if (s.StartsWith('"'))
        {
            var end = 1;
            while (end < s.Length && s[end] != '"')
                end += s[end] == '\\' ? 2 : 1;
            if (end >= s.Length)
            {
                error = "unterminated quoted local part";
                return false;
            }
            local = s[..(end + 1)];
            at = end + 1;
            if (local.Any(c => c < 32 || c > 126))
            {
                error = "bad character in local part";
                return false;
            }
        }
        else
        {
            at = s.LastIndexOf('@');
            if (at < 0)
            {
                error = "address must be local@domain";
                return false;
            }
            local = s[..at];
            if (local.Length == 0 || local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal) ||
                !local.All(c => char.IsAsciiLetterOrDigit(c) || c == '.' || Atext.Contains(c, StringComparison.Ordinal)))
            {
                error = "bad local part";
                return false;
            }
        }
        if (at >= s.Length || s[at] != '@')
        {
            error = "address must be local@domain";
            return false;
        }
        if (local.Length > 64)
        {
            error = "local part longer than 64 octets";
            return false;
        }
        var domain = s[(at + 1)..];
        if (domain.StartsWith('[') && domain.EndsWith(']'))
        {
            // RFC 5321 §4.1.3: dotted quad or IPv6: only; "0x7f.1" and other inet_aton forms are syntax errors.
            if (!Mailward.Core.Addresses.AddressLiteral.TryParse(domain, out _))
            {
                error = "bad address literal";
                return false;
            }
            path = new SmtpPath(local, domain.ToLowerInvariant(), true, routed);
            error = "";
            return true;
        }
        if (domain.Length is 0 or > 255 || domain.Split('.').Any(l => l.Length is 0 or > 63 || l[0] == '-' || l[^1] == '-' ||
                !l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
        {
            error = "bad domain";
            return false;
        }
        path = new SmtpPath(local, domain.ToLowerInvariant(), false, routed);
        error = "";
        return true;
    }

    private static int FindClose(string s)
    {
        var quoted = false;
        for (var i = 1; i < s.Length; i++)
        {
            if (quoted && s[i] == '\\')
                i++;
            else if (s[i] == '"')
                quoted = !quoted;
            else if (s[i] == '>' && !quoted)
                return i;
        }
        return -1;
    }

    private static string Unquote(string quoted)
    {
        var sb = new StringBuilder();
        for (var i = 1; i < quoted.Length - 1; i++)
            sb.Append(quoted[i] == '\\' && i + 1 < quoted.Length - 1 ? quoted[++i] : quoted[i]);
        return sb.ToString();
    }
}
