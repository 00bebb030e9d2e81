// Sequence sets (RFC 9051 §9 sequence-set): "1:4,7,9:*", of message numbers or UIDs. "*" is the
// largest number in use; "$" (RFC 5182 SEARCHRES) is not offered. Ranges are kept, never expanded,
// so "1:4294967295" costs two numbers.
namespace Mailward.Protocols.Imap;

public sealed class SequenceSet
{
    private readonly (uint From, uint To)[] _ranges; // To == 0 means "*"; From == 0 means "*"

    private SequenceSet((uint, uint)[] ranges) => _ranges = ranges;

    public static SequenceSet? Parse(string text)
    {
        if (text.Length == 0)
            return null;
        var parts = text.Split(',');
        if (parts.Length > 10_000)
            return null;
        var ranges = new (uint, uint)[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var colon = parts[i].IndexOf(':');
            if (Number(colon < 0 ? parts[i] : parts[i][..colon]) is not { } from)
                return null;
            var to = from;
            if (colon >= 0 && Number(parts[i][(colon + 1)..]) is not { } t)
                return null;
            else if (colon >= 0)
                to = Number(parts[i][(colon + 1)..])!.Value;
            ranges[i] = (from, to);
        }
        return new SequenceSet(ranges);
    }

    /// <summary>0 for "*", the number otherwise; null when not a valid nz-number.</summary>
    private static uint? Number(string s) =>
        s == "*" ? 0 : s.Length is > 0 and <= 10 && s[0] != '0' && uint.TryParse(s, System.Globalization.NumberStyles.None, null, out var n) ? n : null;

    /// <summary>True when <paramref name="n"/> is in the set, with "*" standing for <paramref name="largest"/>.</summary>
    public bool Contains(uint n, uint largest)
    {
        foreach (var (f, t) in _ranges)
        {
            var a = f == 0 ? largest : f;
            var b = t == 0 ? largest : t;
            if (a > b)
                (a, b) = (b, a); // "4:2" is "2:4" (RFC 9051 §9)
            if (n >= a && n <= b)
                return true;
        }
        return false;
    }

    /// <summary>The ranges with "*" resolved and each ordered low to high.</summary>
    public IEnumerable<(uint From, uint To)> Ranges(uint largest)
    {
        foreach (var (f, t) in _ranges)
        {
            var a = f == 0 ? largest : f;
            var b = t == 0 ? largest : t;
            yield return a <= b ? (a, b) : (b, a);
        }
    }

    /// <summary>Formats ascending numbers as a compact set ("1:3,7"), as UIDPLUS and ESEARCH answer.</summary>
    public static string Format(IEnumerable<uint> ascending)
    {
        var sb = new System.Text.StringBuilder();
        uint start = 0, prev = 0;
        foreach (var n in ascending)
        {
            if (start != 0 && n == prev + 1)
            {
                prev = n;
                continue;
            }
            Flush();
            start = prev = n;
        }
        Flush();
        return sb.ToString();

        void Flush()
        {
            if (start == 0)
                return;
            if (sb.Length > 0)
                sb.Append(',');
            sb.Append(start);
            if (prev != start)
                sb.Append(':').Append(prev);
        }
    }
}
