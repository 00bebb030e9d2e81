// The Received-SPF trace field (RFC 7208 §9.1): the result, a comment in the RFC's wording, and
// the key-value pairs client-ip, envelope-from, helo, problem, receiver, identity. Values that are
// not dot-atoms are quoted; comment text loses parentheses and backslashes so it cannot end early.
using System.Text;
using System.Text.RegularExpressions;

namespace Mailward.Core.Spf;

public static partial class ReceivedSpf
{
    /// <param name="sender">The MAIL FROM address ("" for the null sender, whose identity is HELO).</param>
    public static string Field(SpfOutcome outcome, string client, string sender, string helo, string receiver)
    {
        var identity = sender.Length == 0 ? "helo" : "mailfrom";
        var who = sender.Length == 0 ? "postmaster@" + helo : sender;
        var comment = outcome.Result switch
        {
            SpfResult.Pass => $"domain of {who} designates {client} as permitted sender",
            SpfResult.Fail => $"domain of {who} does not designate {client} as permitted sender",
            SpfResult.SoftFail => $"domain of transitioning {who} does not designate {client} as permitted sender",
            SpfResult.Neutral => $"{client} is neither permitted nor denied by domain of {who}",
            SpfResult.None => $"domain of {who} does not designate permitted sender hosts",
            SpfResult.TempError => $"error in processing during lookup of {who}",
            _ => $"permanent error in processing domain of {who}",
        };
        var sb = new StringBuilder();
        sb.Append("Received-SPF: ").Append(outcome.Name).Append(" (").Append(receiver).Append(": ").Append(Comment(comment)).Append(")\r\n");
        sb.Append("\tclient-ip=").Append(client).Append("; envelope-from=").Append(Value(sender)).Append("; helo=").Append(Value(helo)).Append(";\r\n");
        if (outcome.Problem is { } problem)
            sb.Append("\tproblem=").Append(Value(problem)).Append(";\r\n");
        sb.Append("\treceiver=").Append(Value(receiver)).Append("; identity=").Append(identity).Append(";\r\n");
        return sb.ToString();
    }

    private static string Comment(string text) =>
        new(text.Take(300).Select(c => c is >= ' ' and <= '~' and not '(' and not ')' and not '\\' ? c : '_').ToArray());

    /// <summary>A dot-atom as it is, anything else as a quoted-string (RFC 5322 §3.2.4).</summary>
    private static string Value(string value)
    {
        value = new string(value.Take(300).Select(c => c is >= ' ' and <= '~' ? c : '_').ToArray());
        return DotAtom().IsMatch(value) ? value : "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    [GeneratedRegex(@"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")]
    private static partial Regex DotAtom();
}
