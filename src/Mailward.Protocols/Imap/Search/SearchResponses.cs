// The untagged answers of SEARCH (RFC 9051 §7.3.4's rev1 form, RFC 3501 §7.2.5), ESEARCH (RFC 4731
// §3.1, RFC 9051 §7.3.4), SORT and THREAD (RFC 5256 §4 and §5), with CONDSTORE's MODSEQ
// (RFC 7162 §3.1.5). Each returns one response line without CRLF.
using System.Globalization;
using System.Text;

namespace Mailward.Protocols.Imap.Search;

public static class SearchResponses
{
    /// <summary>"* SEARCH 2 5 6", with " (MODSEQ n)" (the highest mod-sequence of the hits) when the search used MODSEQ and found something.</summary>
    public static string Search(IReadOnlyList<SearchHit> hits, bool uid, bool withModSeq = false)
    {
        var sb = new StringBuilder("* SEARCH");
        foreach (var h in hits)
            sb.Append(' ').Append(uid ? h.Uid : h.Sequence);
        if (withModSeq && hits.Count > 0)
            sb.Append(" (MODSEQ ").Append(hits.Max(h => h.ModSeq)).Append(')');
        return sb.ToString();
    }

    /// <summary>
    /// "* ESEARCH (TAG "t") UID MIN 1 MAX 9 COUNT 3 ALL 1:3,9 MODSEQ n" for the options asked; MIN, MAX and ALL
    /// are left out when nothing matched (RFC 4731 §3.1). MODSEQ is the highest of the messages returned: of the
    /// MIN and MAX messages when only they are asked for, of all hits otherwise (RFC 4731 §3.2). Null when SAVE
    /// was the only option: then no ESEARCH is sent (RFC 5182 §2.4).
    /// </summary>
    public static string? ESearch(string tag, IReadOnlyList<SearchHit> hits, bool uid, SearchReturnOptions options, bool withModSeq = false)
    {
        if (options == SearchReturnOptions.Save)
            return null;
        if (options == SearchReturnOptions.None)
            options = SearchReturnOptions.All;
        var sb = new StringBuilder("* ESEARCH (TAG ").Append(Quote(tag)).Append(')');
        if (uid)
            sb.Append(" UID");
        var numbers = hits.Select(h => uid ? h.Uid : h.Sequence).ToList(); // ascending: hits come in sequence order
        if (numbers.Count > 0 && options.HasFlag(SearchReturnOptions.Min))
            sb.Append(" MIN ").Append(numbers[0]);
        if (numbers.Count > 0 && options.HasFlag(SearchReturnOptions.Max))
            sb.Append(" MAX ").Append(numbers[^1]);
        if (options.HasFlag(SearchReturnOptions.Count))
            sb.Append(" COUNT ").Append(numbers.Count);
        if (numbers.Count > 0 && options.HasFlag(SearchReturnOptions.All))
            sb.Append(" ALL ").Append(SequenceSet.Format(numbers));
        if (withModSeq && hits.Count > 0)
        {
            var onlyEnds = (options & (SearchReturnOptions.All | SearchReturnOptions.Count)) == 0;
            var modSeq = onlyEnds
                ? Math.Max(options.HasFlag(SearchReturnOptions.Min) ? hits[0].ModSeq : 0, options.HasFlag(SearchReturnOptions.Max) ? hits[^1].ModSeq : 0)
                : hits.Max(h => h.ModSeq);
            sb.Append(" MODSEQ ").Append(modSeq);
        }
        return sb.ToString();
    }

    /// <summary>The UIDs RETURN (SAVE) keeps for "$": only the MIN and MAX messages when those are the only other options, all hits otherwise (RFC 5182 §2.4).</summary>
    public static IReadOnlySet<uint> SavedUids(IReadOnlyList<SearchHit> hits, SearchReturnOptions options)
    {
        var others = options & ~SearchReturnOptions.Save;
        if (hits.Count > 0 && others != SearchReturnOptions.None && (others & (SearchReturnOptions.All | SearchReturnOptions.Count)) == 0)
        {
            var ends = new HashSet<uint>();
            if (others.HasFlag(SearchReturnOptions.Min))
                ends.Add(hits[0].Uid);
            if (others.HasFlag(SearchReturnOptions.Max))
                ends.Add(hits[^1].Uid);
            return ends;
        }
        return hits.Select(h => h.Uid).ToHashSet();
    }

    /// <summary>"* SORT 2 3 1" in the sorted order, with " (MODSEQ n)" as SEARCH has it (RFC 7162 §3.1.5).</summary>
    public static string Sort(IReadOnlyList<ISearchMessage> sorted, bool uid, bool withModSeq = false)
    {
        var sb = new StringBuilder("* SORT");
        foreach (var m in sorted)
            sb.Append(' ').Append(uid ? m.Uid : m.Sequence);
        if (withModSeq && sorted.Count > 0)
            sb.Append(" (MODSEQ ").Append(sorted.Max(m => m.ModSeq)).Append(')');
        return sb.ToString();
    }

    /// <summary>"* THREAD (2)(3 6 (4 23)(44 7 96))" (RFC 5256 §4, thread-list of §5): a chain of only children is written
    /// flat, several children each in its own parentheses, a dummy (a missing parent) as just its children.</summary>
    public static string Thread(IReadOnlyList<ThreadNode> threads, bool uid)
    {
        var sb = new StringBuilder("* THREAD");
        if (threads.Count > 0)
            sb.Append(' ');
        // an explicit stack, not recursion: a mailbox can hold threads thousands of levels deep
        var work = new Stack<(ThreadNode? Node, char Text)>();
        for (var i = threads.Count - 1; i >= 0; i--)
            PushList(work, threads[i]);
        while (work.TryPop(out var item))
        {
            if (item.Node is null)
            {
                sb.Append(item.Text);
                continue;
            }
            var node = item.Node;
            var first = true;
            while (true) // along the chain of only children, written flat
            {
                if (node.Message is { } m)
                {
                    if (!first)
                        sb.Append(' ');
                    sb.Append((uid ? m.Uid : m.Sequence).ToString(CultureInfo.InvariantCulture));
                    first = false;
                }
                if (node.Children.Count != 1)
                    break;
                node = node.Children[0];
            }
            if (node.Children.Count > 1)
            {
                if (!first)
                    sb.Append(' ');
                for (var i = node.Children.Count - 1; i >= 0; i--)
                    PushList(work, node.Children[i]);
            }
        }
        return sb.ToString();
    }

    private static void PushList(Stack<(ThreadNode? Node, char Text)> work, ThreadNode node)
    {
        work.Push((null, ')'));
        work.Push((node, ' '));
        work.Push((null, '('));
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
