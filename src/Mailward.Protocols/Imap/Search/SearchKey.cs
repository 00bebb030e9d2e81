// The search program: a tree of keys (RFC 9051 §6.4.4) evaluated per message. Evaluation is
// three-valued so a message is decided without opening it whenever the cheap keys decide it: BODY
// and TEXT answer Unknown until the message has been scanned once for all of them
// (MessageTextSearch), and AND lists are ordered cheapest first so they stop early.
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap.Search;

internal enum Tri
{
    False,
    True,
    Unknown,
}

internal abstract class SearchKey
{
    /// <summary>Relative cost: 1 for what the index holds, 10 for header fields, 1000 for a scan of the message.</summary>
    public abstract int Cost { get; }

    /// <param name="text">Answers of the scan, or null before it ran (text keys then answer Unknown).</param>
    public abstract Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text);

    public virtual IEnumerable<SearchKey> Children => [];

    internal static Tri Of(bool b) => b ? Tri.True : Tri.False;
}

internal sealed class AllKey : SearchKey
{
    public override int Cost => 0;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) => Tri.True;
}

/// <summary>RECENT and NEW: \Recent does not exist here (RFC 9051 §2.3.2), so they match nothing.</summary>
internal sealed class NoneKey : SearchKey
{
    public override int Cost => 0;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) => Tri.False;
}

internal sealed class FlagKey(MessageFlags flag, bool set) : SearchKey
{
    public override int Cost => 1;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) => Of(m.Flags.HasFlag(flag) == set);
}

/// <summary>KEYWORD and UNKEYWORD; keywords compare case-insensitively (RFC 9051 §2.3.2).</summary>
internal sealed class KeywordKey(string keyword, bool set) : SearchKey
{
    public override int Cost => 1;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text)
    {
        var has = false;
        foreach (var k in m.Keywords)
        {
            if (k.Equals(keyword, StringComparison.OrdinalIgnoreCase))
            {
                has = true;
                break;
            }
        }
        return Of(has == set);
    }
}

internal sealed class SequenceKey(SequenceSet set, bool uid) : SearchKey
{
    public override int Cost => 1;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) =>
        Of(uid ? set.Contains(m.Uid, ctx.LargestUid) : set.Contains(m.Sequence, ctx.MessageCount));
}

/// <summary>"$": the UIDs the last SEARCH RETURN (SAVE) kept (RFC 5182 §2.1), in SEARCH and in UID.</summary>
internal sealed class SavedKey : SearchKey
{
    public override int Cost => 1;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) =>
        Of(ctx.SavedUids?.Contains(m.Uid) == true);
}

internal sealed class SizeKey(long size, bool larger) : SearchKey
{
    public override int Cost => 1;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) =>
        Of(larger ? m.Size > size : m.Size < size);
}

internal enum DateRelation
{
    Before,
    On,
    Since,
}

/// <summary>BEFORE, ON, SINCE on the internal date, read as a day in the server's zone.</summary>
internal sealed class InternalDateKey(DateOnly date, DateRelation relation) : SearchKey
{
    public override int Cost => 1;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) =>
        Of(Compare(DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(m.InternalDate, ctx.Zone).DateTime), date, relation));

    internal static bool Compare(DateOnly day, DateOnly date, DateRelation relation) => relation switch
    {
        DateRelation.Before => day < date,
        DateRelation.On => day == date,
        _ => day >= date,
    };
}

/// <summary>SENTBEFORE, SENTON, SENTSINCE: the Date header's day in its own zone (RFC 9051 §6.4.4
/// "disregarding time and timezone"); without a readable Date, the internal date, as RFC 5256 §2.2 does for sorting.</summary>
internal sealed class SentDateKey(DateOnly date, DateRelation relation) : SearchKey
{
    public override int Cost => 10;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text)
    {
        var sent = MessageFacts.SentDate(m) is { } d ? DateOnly.FromDateTime(d.DateTime) : DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(m.InternalDate, ctx.Zone).DateTime);
        return Of(InternalDateKey.Compare(sent, date, relation));
    }
}

/// <summary>FROM, TO, CC, BCC, SUBJECT, HEADER: a substring of a decoded header field's text. An
/// empty string matches every message that has the field (RFC 9051 §6.4.4 HEADER).</summary>
internal sealed class HeaderKey(string field, string folded) : SearchKey
{
    public override int Cost => 10;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text)
    {
        foreach (var raw in m.HeaderValues(field))
        {
            if (folded.Length == 0 || SearchText.Fold(SearchText.DecodeHeader(raw)).Contains(folded, StringComparison.Ordinal))
                return Tri.True;
        }
        return Tri.False;
    }
}

/// <summary>BODY (HeadersToo false) and TEXT: answered by one scan of the message for every text key.</summary>
internal sealed class TextKey(TextNeedle needle) : SearchKey
{
    public TextNeedle Needle => needle;

    public override int Cost => 1000;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) =>
        needle.Folded.Length == 0 ? Tri.True : text is null ? Tri.Unknown : Of(text[needle]);
}

/// <summary>MODSEQ (RFC 7162 §3.1.5): messages whose mod-sequence is at least the value. Per-flag
/// entries are accepted and read as the message's mod-sequence, which is never lower.</summary>
internal sealed class ModSeqKey(ulong value) : SearchKey
{
    public override int Cost => 1;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) => Of(m.ModSeq >= value);
}

internal sealed class NotKey(SearchKey inner) : SearchKey
{
    public override int Cost => inner.Cost;

    public override IEnumerable<SearchKey> Children => [inner];

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text) =>
        inner.Evaluate(m, ctx, text) switch
        {
            Tri.True => Tri.False,
            Tri.False => Tri.True,
            _ => Tri.Unknown,
        };
}

/// <summary>All of the keys; kept cheapest first, so a false cheap key spares the costly ones.</summary>
internal sealed class AndKey : SearchKey
{
    private readonly SearchKey[] _keys;

    public AndKey(IEnumerable<SearchKey> keys) => _keys = [.. keys.OrderBy(k => k.Cost)]; // stable: equal costs keep the client's order

    public override int Cost => _keys.Length == 0 ? 0 : _keys.Max(k => k.Cost);

    public override IEnumerable<SearchKey> Children => _keys;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text)
    {
        var result = Tri.True;
        foreach (var k in _keys)
        {
            var r = k.Evaluate(m, ctx, text);
            if (r == Tri.False)
                return Tri.False;
            if (r == Tri.Unknown)
                result = Tri.Unknown;
        }
        return result;
    }
}

/// <summary>OR, flattened ("OR a OR b c" is one list), cheapest first so a true cheap key decides.</summary>
internal sealed class OrKey : SearchKey
{
    private readonly SearchKey[] _keys;

    public OrKey(IEnumerable<SearchKey> keys) => _keys = [.. keys.SelectMany(k => k is OrKey o ? o._keys : [k]).OrderBy(k => k.Cost)];

    public override int Cost => _keys.Max(k => k.Cost);

    public override IEnumerable<SearchKey> Children => _keys;

    public override Tri Evaluate(ISearchMessage m, SearchContext ctx, IReadOnlyDictionary<TextNeedle, bool>? text)
    {
        var result = Tri.False;
        foreach (var k in _keys)
        {
            var r = k.Evaluate(m, ctx, text);
            if (r == Tri.True)
                return Tri.True;
            if (r == Tri.Unknown)
                result = Tri.Unknown;
        }
        return result;
    }
}
