// Text a client chose (an EHLO name, a login name, an address, a remote reply) made safe to show
// in a log line or in `mailward queue list`: printable ASCII only, so nothing can forge a log line
// (CR, LF), move a terminal's cursor (ESC) or hide in invisible characters; and capped in length.
using System.Text;

namespace Mailward.Core.Policy;

public static class ClientText
{
    /// <summary>Every character outside printable ASCII as '?', and at most <paramref name="max"/> characters (then "...").</summary>
    public static string Printable(string text, int max = 255)
    {
        var cut = text.Length > max;
        var span = cut ? text.AsSpan(0, max) : text.AsSpan();
        var clean = true;
        foreach (var c in span)
            clean &= c is >= ' ' and <= '~';
        if (clean && !cut)
            return text;
        var sb = new StringBuilder(span.Length + 3);
        foreach (var c in span)
            sb.Append(c is >= ' ' and <= '~' ? c : '?');
        return cut ? sb.Append("...").ToString() : sb.ToString();
    }
}
