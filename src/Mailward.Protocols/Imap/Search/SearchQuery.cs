// A parsed SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4): its RETURN options (RFC 4731, RFC 9051
// §6.4.4.1), charset and key tree, and its evaluation over ISearchMessage. The session calls
// Parse with the command's argument tokens, then RunAsync over the selected messages, then
// SearchResponses to format the answer.
using System.Buffers;
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap.Search;

/// <summary>ESEARCH return options (RFC 4731 §3.1; SAVE is RFC 5182 §2.4).</summary>
[Flags]
public enum SearchReturnOptions
{
    None = 0,
    Min = 1,
    Max = 2,
    All = 4,
    Count = 8,
    Save = 16,
}

/// <summary>Why a command was refused: <see cref="Status"/> is "BAD" or "NO"; <see cref="Text"/> is the rest of the tagged reply, response code included.</summary>
public sealed record SearchError(string Status, string Text)
{
    internal static SearchError Bad(string text) => new("BAD", text);
}

/// <param name="SearchRes">The session offers SEARCHRES (RFC 5182): RETURN (SAVE) and "$" are accepted.</param>
public sealed record SearchParseOptions(bool SearchRes = false);

/// <summary>One matching message: what ESEARCH, SEARCH and SAVE report.</summary>
public readonly record struct SearchHit(uint Sequence, uint Uid, ulong ModSeq);

public sealed class SearchQuery
{
    /// <summary>Deepest nesting of NOT, OR and parentheses. Parsing and evaluation recurse once per level; a client that
    /// writes an address book of a few hundred entries as an OR chain stays inside, and the stack stays under ~200 KiB.</summary>
    public const int MaxDepth = 1000;

    /// <summary>Most keys in one search. Every key is evaluated for every message of the folder, so this bounds a search's
    /// cost per message; two thousand is ten times the largest filter a mail client was seen to send.</summary>
    public const int MaxKeys = 2000;

    /// <summary>The charsets searched strings may be in (RFC 9051 §6.4.4: US-ASCII and UTF-8 MUST be accepted).</summary>
    public const string BadCharsetCode = "[BADCHARSET (US-ASCII UTF-8)]";

    private readonly SearchKey _root;
    private readonly TextNeedle[] _needles;
    private readonly bool _rawDecidable; // every needle can be ruled out from the raw bytes (RawTextCheck)

    private SearchQuery(SearchKey root, SearchReturnOptions? returns, bool modSeq)
    {
        _root = root;
        Return = returns;
        UsesModSeq = modSeq;
        _needles = [.. Walk(root).OfType<TextKey>().Select(k => k.Needle).Where(n => n.Folded.Length > 0).Distinct()];
        NeedsText = _needles.Length > 0;
        _rawDecidable = NeedsText && _needles.All(RawTextCheck.Decidable);
        NeedsHeaders = Walk(root).Any(k => k is HeaderKey or SentDateKey);
    }

    /// <summary>The RETURN options given (RETURN () is ALL, RFC 4731 §3.1); null when the command had no RETURN.</summary>
    public SearchReturnOptions? Return { get; }

    /// <summary>A MODSEQ key was used: answer with the highest mod-sequence (RFC 7162 §3.1.5).</summary>
    public bool UsesModSeq { get; }

    /// <summary>BODY or TEXT keys: some messages will be opened and scanned.</summary>
    public bool NeedsText { get; }

    /// <summary>Header keys: HeaderValues will be called (a session may warm its cache first).</summary>
    public bool NeedsHeaders { get; }

    /// <summary>Parses SEARCH's arguments from <paramref name="start"/>: [RETURN (...)] [CHARSET x] keys.</summary>
    public static SearchQuery? Parse(IReadOnlyList<ImapToken> args, int start, out SearchError? error, SearchParseOptions? options = null)
    {
        options ??= new SearchParseOptions();
        var i = start;
        SearchReturnOptions? returns = null;
        if (i < args.Count && args[i].IsAtom("RETURN"))
        {
            if (++i >= args.Count || args[i].Kind != ImapTokenKind.List)
                return Fail(out error, SearchError.Bad("RETURN needs a list of options"));
            var r = SearchReturnOptions.None;
            foreach (var o in args[i].Items)
            {
                r |= o.Kind != ImapTokenKind.Atom ? (SearchReturnOptions)(-1) : o.Text.ToUpperInvariant() switch
                {
                    "MIN" => SearchReturnOptions.Min,
                    "MAX" => SearchReturnOptions.Max,
                    "ALL" => SearchReturnOptions.All,
                    "COUNT" => SearchReturnOptions.Count,
                    "SAVE" when options.SearchRes => SearchReturnOptions.Save,
                    _ => (SearchReturnOptions)(-1),
                };
                if (r < 0)
                    return Fail(out error, SearchError.Bad($"unknown RETURN option {o}"));
            }
            returns = r == SearchReturnOptions.None ? SearchReturnOptions.All : r; // RETURN () is RETURN (ALL), RFC 4731 §3.1
            i++;
        }
        var charset = "UTF-8";
        if (i < args.Count && args[i].IsAtom("CHARSET"))
        {
            if (++i >= args.Count || args[i].AString is not { } cs)
                return Fail(out error, SearchError.Bad("CHARSET needs a name"));
            charset = cs;
            i++;
        }
        return ParseKeys(args, i, charset, returns, options, out error);
    }

    /// <summary>The keys from <paramref name="start"/> to the end, with the charset already read (SORT and THREAD give it as an argument).</summary>
    internal static SearchQuery? ParseKeys(IReadOnlyList<ImapToken> args, int start, string charset, SearchReturnOptions? returns, SearchParseOptions options, out SearchError? error)
    {
        if (!charset.Equals("UTF-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("US-ASCII", StringComparison.OrdinalIgnoreCase))
            return Fail(out error, new SearchError("NO", $"{BadCharsetCode} charset {charset} is not supported"));
        if (start >= args.Count)
            return Fail(out error, SearchError.Bad("search criteria missing"));
        var parser = new SearchKeyParser(options);
        var keys = new List<SearchKey>();
        var i = start;
        while (i < args.Count)
        {
            if (parser.Key(args, ref i, 0) is not { } key)
                return Fail(out error, SearchError.Bad(parser.Error));
            keys.Add(key);
        }
        error = null;
        return new SearchQuery(keys.Count == 1 ? keys[0] : new AndKey(keys), returns, parser.UsesModSeq);
    }

    /// <summary>True when the message matches; opens and scans it only when the cheaper keys leave the answer open.</summary>
    public async ValueTask<bool> MatchesAsync(ISearchMessage m, SearchContext ctx, CancellationToken ct = default)
    {
        var first = _root.Evaluate(m, ctx, null);
        if (first != Tri.Unknown)
            return first == Tri.True;
        var stream = await m.OpenAsync(ct);
        await using (stream)
        {
            bool[] found;
            if (_rawDecidable && stream.Length <= RawTextCheck.MaxBytes)
            {
                // Read once: the raw check answers most messages, and the full scan reads from memory.
                var length = (int)stream.Length;
                var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                try
                {
                    var n = stream.ReadAtLeast(buffer.AsSpan(0, length), length, throwOnEndOfStream: false);
                    found = NoneOccurs(buffer.AsSpan(0, n)) ? new bool[_needles.Length]
                        : MessageTextSearch.Find(new MemoryStream(buffer, 0, n, writable: false), _needles, ct);
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            else
                found = await MessageTextSearch.FindAsync(stream, _needles, ct);
            var answers = new Dictionary<TextNeedle, bool>(_needles.Length);
            for (var n = 0; n < _needles.Length; n++)
                answers[_needles[n]] = found[n];
            return _root.Evaluate(m, ctx, answers) == Tri.True;
        }
    }

    /// <summary>True when no needle can be in the message: none occurs in its bytes, and its text is its bytes (RawTextCheck).</summary>
    private bool NoneOccurs(ReadOnlySpan<byte> message)
    {
        foreach (var needle in _needles)
            if (RawTextCheck.Occurs(message, needle.Folded))
                return false;
        return RawTextCheck.Plain(message);
    }

    /// <summary>Every matching message of <paramref name="messages"/> (in sequence order), in that order.</summary>
    public async Task<IReadOnlyList<SearchHit>> RunAsync(IEnumerable<ISearchMessage> messages, SearchContext ctx, CancellationToken ct = default)
    {
        var hits = new List<SearchHit>();
        foreach (var m in messages)
        {
            ct.ThrowIfCancellationRequested();
            if (await MatchesAsync(m, ctx, ct))
                hits.Add(new SearchHit(m.Sequence, m.Uid, m.ModSeq));
        }
        return hits;
    }

    private static IEnumerable<SearchKey> Walk(SearchKey key)
    {
        var stack = new Stack<SearchKey>();
        stack.Push(key);
        while (stack.Count > 0)
        {
            var k = stack.Pop();
            yield return k;
            foreach (var c in k.Children)
                stack.Push(c);
        }
    }

    private static SearchQuery? Fail(out SearchError? error, SearchError e)
    {
        error = e;
        return null;
    }
}

/// <summary>The search-key grammar of RFC 9051 §9 (with RFC 3501's NEW, OLD, RECENT and RFC 7162's MODSEQ), bounded.</summary>
internal sealed class SearchKeyParser(SearchParseOptions options)
{
    private int _keys;

    public string Error { get; private set; } = "";

    public bool UsesModSeq { get; private set; }

    public SearchKey? Key(IReadOnlyList<ImapToken> t, ref int i, int depth)
    {
        if (depth > SearchQuery.MaxDepth)
            return Fail("search keys nested too deeply");
        if (++_keys > SearchQuery.MaxKeys)
            return Fail("too many search keys");
        var token = t[i++];
        if (token.Kind == ImapTokenKind.List)
        {
            if (token.Items.Count == 0)
                return Fail("empty parenthesised search key");
            var keys = new List<SearchKey>();
            var j = 0;
            while (j < token.Items.Count)
            {
                if (Key(token.Items, ref j, depth + 1) is not { } k)
                    return null;
                keys.Add(k);
            }
            return keys.Count == 1 ? keys[0] : new AndKey(keys);
        }
        if (token.Kind != ImapTokenKind.Atom)
            return Fail($"search key expected, not a string");
        var name = token.Text.ToUpperInvariant();
        if (name.Length > 0 && (char.IsAsciiDigit(name[0]) || name[0] is '*' or '$'))
            return Set(token.Text, uid: false);
        switch (name)
        {
            case "ALL":
                return new AllKey();
            case "ANSWERED":
                return new FlagKey(MessageFlags.Answered, true);
            case "DELETED":
                return new FlagKey(MessageFlags.Deleted, true);
            case "DRAFT":
                return new FlagKey(MessageFlags.Draft, true);
            case "FLAGGED":
                return new FlagKey(MessageFlags.Flagged, true);
            case "SEEN":
                return new FlagKey(MessageFlags.Seen, true);
            case "UNANSWERED":
                return new FlagKey(MessageFlags.Answered, false);
            case "UNDELETED":
                return new FlagKey(MessageFlags.Deleted, false);
            case "UNDRAFT":
                return new FlagKey(MessageFlags.Draft, false);
            case "UNFLAGGED":
                return new FlagKey(MessageFlags.Flagged, false);
            case "UNSEEN":
                return new FlagKey(MessageFlags.Seen, false);
            case "RECENT" or "NEW": // RFC 3501 §6.4.4; no message is \Recent here (RFC 9051 §2.3.2)
                return new NoneKey();
            case "OLD":
                return new AllKey();
            case "KEYWORD" or "UNKEYWORD":
                if (Arg(t, ref i, name) is not { } kw)
                    return null;
                return SystemFlag(kw) is { } f ? new FlagKey(f, name == "KEYWORD") : new KeywordKey(kw, name == "KEYWORD");
            case "BCC" or "CC" or "FROM" or "TO" or "SUBJECT":
                if (Arg(t, ref i, name) is not { } s)
                    return null;
                return new HeaderKey(name == "SUBJECT" ? "Subject" : name == "FROM" ? "From" : name == "TO" ? "To" : name == "CC" ? "Cc" : "Bcc", SearchText.Fold(s));
            case "HEADER":
                if (Arg(t, ref i, name) is not { } field || Arg(t, ref i, name) is not { } value)
                    return null;
                if (field.Length == 0 || field.Any(c => c <= ' ' || c == ':' || c >= 0x7f))
                    return Fail("invalid header field name");
                return new HeaderKey(field, SearchText.Fold(value));
            case "BODY" or "TEXT":
                if (Arg(t, ref i, name) is not { } needle)
                    return null;
                return new TextKey(new TextNeedle(SearchText.Fold(needle), name == "TEXT"));
            case "BEFORE" or "ON" or "SINCE" or "SENTBEFORE" or "SENTON" or "SENTSINCE":
                if (Arg(t, ref i, name) is not { } ds)
                    return null;
                if (ParseDate(ds) is not { } date)
                    return Fail($"invalid date {ds}");
                var relation = name.EndsWith("BEFORE", StringComparison.Ordinal) ? DateRelation.Before : name.EndsWith("ON", StringComparison.Ordinal) ? DateRelation.On : DateRelation.Since;
                return name.StartsWith("SENT", StringComparison.Ordinal) ? new SentDateKey(date, relation) : new InternalDateKey(date, relation);
            case "LARGER" or "SMALLER":
                if (Arg(t, ref i, name) is not { } ns)
                    return null;
                if (!ulong.TryParse(ns, System.Globalization.NumberStyles.None, null, out var n) || n > long.MaxValue)
                    return Fail($"invalid number {ns}");
                return new SizeKey((long)n, name == "LARGER");
            case "UID":
                if (i >= t.Count || t[i].Kind != ImapTokenKind.Atom)
                    return Fail("UID needs a sequence set");
                return Set(t[i++].Text, uid: true);
            case "NOT":
                if (i >= t.Count)
                    return Fail("NOT needs a search key");
                return Key(t, ref i, depth + 1) is { } inner ? new NotKey(inner) : null;
            case "OR":
                if (i >= t.Count)
                    return Fail("OR needs two search keys");
                if (Key(t, ref i, depth + 1) is not { } a)
                    return null;
                if (i >= t.Count)
                    return Fail("OR needs two search keys");
                return Key(t, ref i, depth + 1) is { } b ? new OrKey([a, b]) : null;
            case "MODSEQ":
                return ModSeq(t, ref i);
            default:
                return Fail($"unknown search key {token.Text}");
        }
    }

    /// <summary>MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 §3.1.5).</summary>
    private SearchKey? ModSeq(IReadOnlyList<ImapToken> t, ref int i)
    {
        if (i < t.Count && t[i].Kind == ImapTokenKind.Text)
        {
            if (i + 1 >= t.Count || !(t[i + 1].IsAtom("priv") || t[i + 1].IsAtom("shared") || t[i + 1].IsAtom("all")))
                return Fail("MODSEQ entry needs priv, shared or all");
            i += 2;
        }
        if (i >= t.Count || t[i].Kind != ImapTokenKind.Atom || !ulong.TryParse(t[i].Text, System.Globalization.NumberStyles.None, null, out var value) || value > long.MaxValue)
            return Fail("MODSEQ needs a mod-sequence value");
        i++;
        UsesModSeq = true;
        return new ModSeqKey(value);
    }

    private SearchKey? Set(string text, bool uid)
    {
        if (text == "$")
            return options.SearchRes ? new SavedKey() : Fail("$ needs SEARCHRES, which is not offered");
        return SequenceSet.Parse(text) is { } set ? new SequenceKey(set, uid) : Fail($"invalid sequence set {text}");
    }

    private string? Arg(IReadOnlyList<ImapToken> t, ref int i, string key)
    {
        if (i >= t.Count || t[i].AString is not { } s)
        {
            Error = $"{key} needs an argument";
            return null;
        }
        i++;
        return s;
    }

    private static MessageFlags? SystemFlag(string flag) => flag.ToUpperInvariant() switch
    {
        "\\SEEN" => MessageFlags.Seen,
        "\\ANSWERED" => MessageFlags.Answered,
        "\\FLAGGED" => MessageFlags.Flagged,
        "\\DELETED" => MessageFlags.Deleted,
        "\\DRAFT" => MessageFlags.Draft,
        _ => null,
    };

    private static readonly string[] Months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

    /// <summary>date-text = date-day "-" date-month "-" date-year (RFC 9051 §9), e.g. 1-Feb-1994.</summary>
    internal static DateOnly? ParseDate(string s)
    {
        var parts = s.Split('-');
        if (parts.Length != 3 || parts[0].Length is < 1 or > 2 || parts[2].Length != 4
            || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, null, out var day)
            || !int.TryParse(parts[2], System.Globalization.NumberStyles.None, null, out var year))
            return null;
        var month = Array.IndexOf(Months, parts[1].ToUpperInvariant()) + 1;
        if (month == 0 || year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month))
            return null;
        return new DateOnly(year, month, day);
    }

    private SearchKey? Fail(string error)
    {
        Error = error;
        return null;
    }
}
