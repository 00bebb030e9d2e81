// Facts read from a message's header fields for SEARCH, SORT and THREAD: the sent date (RFC 5256
// §2.2), the first address of an address field (RFC 5256 §3 "addr-mailbox"; RFC 5957 display
// names) and message ids (RFC 5322 §3.6.4, as RFC 5256 §4 REFERENCES reads them).
using MimeKit;
using MimeKit.Utils;

namespace Mailward.Protocols.Imap.Search;

internal static class MessageFacts
{
    /// <summary>The first Date field's date and time in its own zone; null when missing or unreadable.</summary>
    public static DateTimeOffset? SentDate(ISearchMessage m)
    {
        var values = m.HeaderValues("Date");
        return values.Count > 0 && DateUtils.TryParse(SearchText.Unfold(values[0]), out var date) ? date : null;
    }

    /// <summary>The first address of the first field with this name: a mailbox, or a group (whose name is then what
    /// IMAP's envelope gives as the first addr-mailbox, RFC 9051 §7.5.2); null when there is none.</summary>
    public static InternetAddress? FirstAddress(ISearchMessage m, string field)
    {
        var values = m.HeaderValues(field);
        if (values.Count == 0 || !InternetAddressList.TryParse(SearchText.Unfold(values[0]), out var list))
            return null;
        return list.FirstOrDefault();
    }

    /// <summary>Every "&lt;id-left@id-right&gt;" of a field in order, comments skipped, brackets dropped. Ids without "@" are not
    /// valid msg-ids (RFC 5322 §3.6.4) and are skipped, as RFC 5256 §4 skips invalid references.</summary>
    public static List<string> MessageIds(string raw)
    {
        var ids = new List<string>();
        var depth = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c == '\\' && depth > 0)
            {
                i++;
                continue;
            }
            if (c == '(')
                depth++;
            else if (c == ')' && depth > 0)
                depth--;
            else if (c == '<' && depth == 0)
            {
                var end = raw.IndexOf('>', i + 1);
                if (end < 0)
                    break;
                var id = RemoveSpace(raw.AsSpan(i + 1, end - i - 1));
                if (id.Length > 2 && id.IndexOf('@') > 0 && id.IndexOf('@') < id.Length - 1 && id.IndexOf('<') < 0)
                    ids.Add(id);
                i = end;
            }
        }
        return ids;
    }

    private static string RemoveSpace(ReadOnlySpan<char> s)
    {
        if (s.IndexOfAny(" \t\r\n") < 0)
            return s.ToString();
        var chars = new List<char>(s.Length);
        foreach (var c in s)
        {
            if (c is not (' ' or '\t' or '\r' or '\n'))
                chars.Add(c);
        }
        return new string([.. chars]);
    }
}
