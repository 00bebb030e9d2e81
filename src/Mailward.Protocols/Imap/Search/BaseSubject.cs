// The base subject of RFC 5256 §2.1, which SORT SUBJECT and both THREAD algorithms compare:
// "Re:", "Fwd:", "[list]" blobs, "(fwd)" trailers and "[fwd: ...]" wrappers removed, exactly by
// the steps (1)-(7) of that section, and whether any of them marked a reply or forward.
using System.Text;

namespace Mailward.Protocols.Imap.Search;

public static class BaseSubject
{
    /// <summary>The base subject of a raw Subject field body (still RFC 2047 encoded, possibly folded).</summary>
    public static string Extract(string rawSubject, out bool isReplyOrForward)
    {
        isReplyOrForward = false;
        // (1) decode encoded words, tabs and continuations to spaces, runs of spaces to one
        var s = CollapseSpaces(SearchText.DecodeHeader(rawSubject));
        while (true)
        {
            // (2) trailing subj-trailer = "(fwd)" / WSP, as often as it matches
            while (true)
            {
                if (s.EndsWith(' '))
                    s = s[..^1];
                else if (s.EndsWith("(fwd)", StringComparison.OrdinalIgnoreCase))
                {
                    s = s[..^5];
                    isReplyOrForward = true;
                }
                else
                    break;
            }
            // (5) repeat (3) and (4) until neither removes anything
            while (true)
            {
                // (3) subj-leader = (*subj-blob subj-refwd) / WSP
                if (s.StartsWith(' '))
                {
                    s = s[1..];
                    continue;
                }
                if (RefwdLeader(s) is { } leader)
                {
                    s = s[leader..];
                    isReplyOrForward = true;
                    continue;
                }
                // (4) a leading subj-blob, when what follows it is a non-empty subj-base
                if (Blob(s, 0) is { } blob && blob < s.Length)
                {
                    s = s[blob..];
                    continue;
                }
                break;
            }
            // (6) subj-fwd-hdr "[fwd:" ... subj-fwd-trl "]": unwrap and go again from (2)
            if (s.StartsWith("[fwd:", StringComparison.OrdinalIgnoreCase) && s.EndsWith(']'))
            {
                s = s[5..^1];
                isReplyOrForward = true;
                continue;
            }
            return s; // (7)
        }
    }

    /// <summary>The length of a leading *subj-blob subj-refwd, or null. subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".</summary>
    private static int? RefwdLeader(string s)
    {
        var p = 0;
        while (Blob(s, p) is { } next)
            p = next;
        if (s.AsSpan(p).StartsWith("re", StringComparison.OrdinalIgnoreCase))
            p += 2;
        else if (s.AsSpan(p).StartsWith("fwd", StringComparison.OrdinalIgnoreCase))
            p += 3;
        else if (s.AsSpan(p).StartsWith("fw", StringComparison.OrdinalIgnoreCase))
            p += 2;
        else
            return null;
        while (p < s.Length && s[p] == ' ')
            p++;
        if (Blob(s, p) is { } afterBlob)
            p = afterBlob;
        return p < s.Length && s[p] == ':' ? p + 1 : null;
    }

    /// <summary>The end of a subj-blob ("[" *BLOBCHAR "]" *WSP) starting at <paramref name="p"/>, or null.</summary>
    private static int? Blob(string s, int p)
    {
        if (p >= s.Length || s[p] != '[')
            return null;
        var q = p + 1;
        while (q < s.Length && s[q] is not ('[' or ']'))
            q++;
        if (q >= s.Length || s[q] != ']')
            return null;
        q++;
        while (q < s.Length && s[q] == ' ')
            q++;
        return q;
    }

    private static string CollapseSpaces(string s)
    {
        if (!s.Contains("  ", StringComparison.Ordinal))
            return s;
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (c == ' ' && sb.Length > 0 && sb[^1] == ' ')
                continue;
            sb.Append(c);
        }
        return sb.ToString();
    }
}
