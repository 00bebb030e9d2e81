// SORT (RFC 5256 §3, with RFC 5957's DISPLAYFROM and DISPLAYTO): the criteria, the command's
// parse, and the sort itself. Keys are computed once per message; strings compare folded
// (SearchText.Fold); equal messages keep sequence order, which REVERSE does not turn round.
using MimeKit;

namespace Mailward.Protocols.Imap.Search;

public enum SortKey
{
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
    DisplayFrom,
    DisplayTo,
}

public readonly record struct SortCriterion(SortKey Key, bool Reverse);

public sealed class SortCriteria
{
    private SortCriteria(IReadOnlyList<SortCriterion> items) => Items = items;

    public IReadOnlyList<SortCriterion> Items { get; }

    /// <summary>"(REVERSE DATE SUBJECT)": sort-criterion = ["REVERSE" SP] sort-key (RFC 5256 §5).</summary>
    public static SortCriteria? Parse(ImapToken list, out string? error)
    {
        error = null;
        if (list.Kind != ImapTokenKind.List || list.Items.Count == 0)
        {
            error = "SORT needs a list of criteria";
            return null;
        }
        var items = new List<SortCriterion>();
        var reverse = false;
        foreach (var t in list.Items)
        {
            if (t.IsAtom("REVERSE") && !reverse)
            {
                reverse = true;
                continue;
            }
            SortKey? key = t.Kind != ImapTokenKind.Atom ? null : t.Text.ToUpperInvariant() switch
            {
                "ARRIVAL" => SortKey.Arrival,
                "CC" => SortKey.Cc,
                "DATE" => SortKey.Date,
                "FROM" => SortKey.From,
                "SIZE" => SortKey.Size,
                "SUBJECT" => SortKey.Subject,
                "TO" => SortKey.To,
                "DISPLAYFROM" => SortKey.DisplayFrom,
                "DISPLAYTO" => SortKey.DisplayTo,
                _ => null,
            };
            if (key is null)
            {
                error = $"unknown sort criterion {t}";
                return null;
            }
            items.Add(new SortCriterion(key.Value, reverse));
            reverse = false;
        }
        if (reverse)
        {
            error = "REVERSE needs a sort criterion after it";
            return null;
        }
        return new SortCriteria(items);
    }
}

/// <summary>A SORT command's arguments: (criteria) charset search-keys (RFC 5256 §3).</summary>
public sealed record SortRequest(SortCriteria Criteria, SearchQuery Query)
{
    public static SortRequest? Parse(IReadOnlyList<ImapToken> args, int start, out SearchError? error, SearchParseOptions? options = null)
    {
        string? why = "SORT needs a list of criteria";
        if (start >= args.Count || SortCriteria.Parse(args[start], out why) is not { } criteria)
        {
            error = SearchError.Bad(why!);
            return null;
        }
        if (start + 1 >= args.Count || args[start + 1].AString is not { } charset)
        {
            error = SearchError.Bad("SORT needs a charset");
            return null;
        }
        var query = SearchQuery.ParseKeys(args, start + 2, charset, null, options ?? new SearchParseOptions(), out error);
        return query is null ? null : new SortRequest(criteria, query);
    }
}

public static class Sorter
{
    /// <summary>The messages in the order of the criteria; ties in sequence order (RFC 5256 §3).</summary>
    public static IReadOnlyList<ISearchMessage> Sort(IEnumerable<ISearchMessage> messages, SortCriteria criteria)
    {
        var keyed = messages.Select(m => (Message: m, Keys: criteria.Items.Select(c => KeyOf(m, c.Key)).ToArray())).ToList();
        keyed.Sort((a, b) =>
        {
            for (var i = 0; i < criteria.Items.Count; i++)
            {
                var c = Compare(a.Keys[i], b.Keys[i]);
                if (c != 0)
                    return criteria.Items[i].Reverse ? -c : c;
            }
            return a.Message.Sequence.CompareTo(b.Message.Sequence);
        });
        return [.. keyed.Select(k => k.Message)];
    }

    private static int Compare(object a, object b) => a switch
    {
        long x => x.CompareTo((long)b),
        _ => string.CompareOrdinal((string)a, (string)b),
    };

    private static object KeyOf(ISearchMessage m, SortKey key) => key switch
    {
        SortKey.Arrival => m.InternalDate.UtcTicks,
        SortKey.Date => SentOrInternal(m).UtcTicks,
        SortKey.Size => m.Size,
        SortKey.Subject => SubjectOf(m),
        SortKey.From => Mailbox(MessageFacts.FirstAddress(m, "From")),
        SortKey.To => Mailbox(MessageFacts.FirstAddress(m, "To")),
        SortKey.Cc => Mailbox(MessageFacts.FirstAddress(m, "Cc")),
        SortKey.DisplayFrom => Display(MessageFacts.FirstAddress(m, "From")),
        _ => Display(MessageFacts.FirstAddress(m, "To")),
    };

    /// <summary>The sent date of RFC 5256 §2.2: the Date field, or the internal date when it is missing or unreadable.</summary>
    internal static DateTimeOffset SentOrInternal(ISearchMessage m) => MessageFacts.SentDate(m) ?? m.InternalDate;

    /// <summary>The folded base subject; "" without a Subject field.</summary>
    internal static string SubjectOf(ISearchMessage m) => SubjectOf(m, out _);

    internal static string SubjectOf(ISearchMessage m, out bool isReplyOrForward)
    {
        var values = m.HeaderValues("Subject");
        isReplyOrForward = false;
        return values.Count == 0 ? "" : SearchText.Fold(BaseSubject.Extract(values[0], out isReplyOrForward));
    }

    /// <summary>RFC 5256 §3: the addr-mailbox of the first address (its local part; a group's name, as the envelope has
    /// it and Dovecot sorts); "" when there is none.</summary>
    private static string Mailbox(InternetAddress? a) => a switch
    {
        MailboxAddress m => SearchText.Fold(m.LocalPart),
        GroupAddress g => SearchText.Fold(g.Name ?? ""),
        _ => "",
    };

    /// <summary>RFC 5957 §3: the decoded display name of the first address, or its addr-spec when it has none; a group's name.</summary>
    private static string Display(InternetAddress? a) => a switch
    {
        MailboxAddress m => SearchText.Fold(string.IsNullOrWhiteSpace(m.Name) ? m.Address : m.Name.Trim()),
        GroupAddress g => SearchText.Fold(g.Name ?? ""),
        _ => "",
    };
}
