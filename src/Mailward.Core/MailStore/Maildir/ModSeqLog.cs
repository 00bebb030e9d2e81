// The mod-sequence log of one Maildir folder (docs/mail-store.md "Mod-sequences"; RFC 7162): an
// append-only file of lines with a CRC each, read incrementally (a reader keeps its place and the
// file's generation), appended and compacted only by the holder of the UID list's guard.
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore.Maildir;

internal sealed class ModSeqLog(string folder)
{
    public const string FileName = "mailward-modseq";
    private const int MaxLine = 64 * 1024;
    private const int RangesPerLine = 500;
    private const long CompactAbove = 64 * 1024;

    private byte[]? _header; // the header line as read, through '\n': another one means the file was replaced
    private long _offset; // the end of the last whole line read
    private int _lines; // lines after the header
    private Dictionary<string, string>? _flagStrings; // one string per distinct flag set (made at the first M line)

    public enum ReadOutcome
    {
        Ok,
        Missing,
        Garbled,
    }

    public uint UidValidity { get; private set; }
    public ulong Generation { get; private set; }
    public ulong Base { get; private set; }

    /// <summary>Expunges with a mod-sequence at or below this are no longer listed.</summary>
    public ulong Forgotten { get; private set; }

    public ulong Highest { get; private set; }

    /// <summary>A bad line with whole lines after it: the history is not trusted (the next writer compacts).</summary>
    public bool Damaged { get; private set; }

    /// <summary>Live messages: UID → the mod-sequence and flag letters of its last M line.</summary>
    public Dictionary<uint, (ulong ModSeq, string Flags)> Messages { get; private set; } = NoMessages;

    /// <summary>Remembered expunges, in the order written (mod-sequences ascending).</summary>
    public List<(ulong ModSeq, uint First, uint Last)> Expunged { get; private set; } = NoExpunges;

    // Messages and Expunged are another reader's too (or the empty ones every reader starts with, so the
    // log of an empty folder, held by each of its idle sessions, has no collections of its own):
    // replaced, never changed in place.
    private bool _shared = true;

    private static readonly Dictionary<uint, (ulong ModSeq, string Flags)> NoMessages = [];
    private static readonly List<(ulong ModSeq, uint First, uint Last)> NoExpunges = [];

    private string Path_ => Path.Combine(folder, FileName);

    /// <summary>The flag letters as a line holds them: '-' for none, bytes outside '!'–'~' (and '-' alone) as '?'.</summary>
    public static string FlagsOf(string letters)
    {
        if (letters.Length == 0)
            return "-";
        if (!letters.AsSpan().ContainsAnyExceptInRange('!', '~') && letters != "-")
            return letters;
        var chars = letters.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
            if (chars[i] is < '!' or > '~')
                chars[i] = '?';
        var s = new string(chars);
        return s == "-" ? "?" : s;
    }

    /// <summary>Reads what was appended since the last call (all of it when the file was replaced).</summary>
    public ReadOutcome CatchUp()
    {
        FileStream f;
        try
        {
            f = new FileStream(Path_, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            Reset();
            return ReadOutcome.Missing;
        }
        using (f)
        {
            var head = new byte[256];
            var n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            var end = Array.IndexOf(head, (byte)'\n', 0, n);
            if (end < 0)
            {
                Reset();
                return ReadOutcome.Garbled;
            }
            var header = head[..(end + 1)];
            if (_header is null || !header.AsSpan().SequenceEqual(_header))
            {
                Reset();
                if (!ParseHeader(header))
                    return ReadOutcome.Garbled;
                _header = header;
                _offset = header.Length;
            }
            var length = f.Length;
            if (length <= _offset)
                return ReadOutcome.Ok;
            var tail = new byte[length - _offset];
            f.Position = _offset;
            tail = tail[..f.ReadAtLeast(tail, tail.Length, throwOnEndOfStream: false)];
            ReadLines(tail);
            return ReadOutcome.Ok;
        }
    }

    /// <summary>A reader at the same place with the same state, for a listing others start from.</summary>
    public ModSeqLog Clone()
    {
        var copy = new ModSeqLog(folder);
        copy.CopyFrom(this);
        return copy;
    }

    /// <summary>Takes another reader's place and state (both read the same folder's log).</summary>
    public void CopyFrom(ModSeqLog other)
    {
        if (_header is not null && other._header is not null && _offset == other._offset && _header.AsSpan().SequenceEqual(other._header))
            return; // already there
        _header = other._header;
        _offset = other._offset;
        _lines = other._lines;
        UidValidity = other.UidValidity;
        Generation = other.Generation;
        Base = other.Base;
        Forgotten = other.Forgotten;
        Highest = other.Highest;
        Damaged = other.Damaged;
        Messages = other.Messages;
        Expunged = other.Expunged;
        _shared = other._shared = true;
    }

    /// <summary>Before a change: this reader's own copies of what it shares.</summary>
    private void Own()
    {
        if (!_shared)
            return;
        Messages = new Dictionary<uint, (ulong ModSeq, string Flags)>(Messages);
        Expunged = [.. Expunged];
        _shared = false;
    }

    private void Reset()
    {
        _header = null;
        _offset = 0;
        _lines = 0;
        UidValidity = 0;
        Generation = Base = Forgotten = Highest = 0;
        Damaged = false;
        if (_shared)
        {
            (Messages, Expunged) = (NoMessages, NoExpunges); // still shared: copied at the first line applied
            return;
        }
        Messages.Clear();
        Expunged.Clear();
    }

    private bool ParseHeader(byte[] line)
    {
        if (!Checked(line.AsSpan(0, line.Length - 1), out var body))
            return false;
        var text = Encoding.ASCII.GetString(body);
        var f = text.Split(' ');
        if (f.Length != 6 || f[0] != "MWMODSEQ" || f[1] != "1" || !Number(f[2], 'G', out var g) || !Number(f[3], 'V', out var v)
            || v is 0 or > uint.MaxValue || !Number(f[4], 'B', out var b) || !Number(f[5], 'F', out var forgotten))
            return false;
        Generation = g;
        UidValidity = (uint)v;
        Base = Highest = b;
        Forgotten = forgotten;
        return true;
    }

    /// <summary>
    /// Applies the whole lines of <paramref name="tail"/>. A line still being written (no '\n') or
    /// bad lines at the end are left for later (a torn append that the next writer cuts); a bad line
    /// with good lines after it is damage.
    /// </summary>
    private void ReadLines(ReadOnlySpan<byte> tail)
    {
        if (!tail.Contains((byte)'\n'))
            return; // no whole line: nothing to apply (and a shared empty log stays shared)
        Own();
        if (tail.Length > 1 << 16)
            Messages.EnsureCapacity(Messages.Count + tail.Count((byte)'\n')); // a whole log read at open, a first sync's append: no rehash on the way
        var start = _offset;
        var at = 0;
        var badSince = -1;
        while (at < tail.Length)
        {
            var nl = tail[at..].IndexOf((byte)'\n');
            if (nl < 0)
                break;
            var line = tail.Slice(at, nl);
            if (line.Length <= MaxLine && Checked(line, out var body) && Apply(body))
            {
                if (badSince >= 0)
                    Damaged = true;
                badSince = -1;
                _offset = start + at + nl + 1;
                _lines++;
            }
            else if (badSince < 0)
            {
                badSince = at;
            }
            at += nl + 1;
        }
    }

    /// <summary>True, with the line's text before its CRC, when the CRC checks out and the text is printable ASCII.</summary>
    private static bool Checked(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> body)
    {
        body = default;
        var space = line.LastIndexOf((byte)' ');
        if (space < 0 || line.Length - space - 1 != 8)
            return false;
        var text = line[..space];
        if (!uint.TryParse(line[(space + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var crc)
            || Crc32.HashToUInt32(text) != crc || text.ContainsAnyExceptInRange((byte)' ', (byte)'~'))
            return false;
        body = text;
        return true;
    }

    /// <summary>Applies one checked line; false when it is neither a well-formed M nor X line.</summary>
    private bool Apply(ReadOnlySpan<byte> body)
    {
        // M lines are nearly all of a log: read from the bytes, with no string but a new flag set's.
        if (body.StartsWith("M "u8))
        {
            var rest = body[2..];
            var s1 = rest.IndexOf((byte)' ');
            if (s1 < 0 || !uint.TryParse(rest[..s1], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) || uid == 0)
                return false;
            rest = rest[(s1 + 1)..];
            var s2 = rest.IndexOf((byte)' ');
            if (s2 < 0 || !ulong.TryParse(rest[..s2], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) || seq is 0 or > long.MaxValue)
                return false;
            var letters = rest[(s2 + 1)..];
            if (letters.Length == 0 || letters.Contains((byte)' '))
                return false;
            Messages[uid] = (seq, FlagString(letters));
            Highest = Math.Max(Highest, seq);
            return true;
        }
        return ApplyExpunge(Encoding.ASCII.GetString(body));
    }

    /// <summary>One string per distinct flag set in the log (checked ASCII, so a char per byte).</summary>
    private string FlagString(ReadOnlySpan<byte> letters)
    {
        Span<char> chars = letters.Length <= 64 ? stackalloc char[letters.Length] : new char[letters.Length];
        for (var i = 0; i < letters.Length; i++)
            chars[i] = (char)letters[i];
        var lookup = (_flagStrings ??= new(StringComparer.Ordinal)).GetAlternateLookup<ReadOnlySpan<char>>();
        if (!lookup.TryGetValue(chars, out var flags))
        {
            flags = new string(chars);
            _flagStrings[flags] = flags;
        }
        return flags;
    }

    /// <summary>Applies an X line (rare: one per EXPUNGE); false when the text is not one.</summary>
    private bool ApplyExpunge(string text)
    {
        var f = text.Split(' ');
        if (f.Length == 3 && f[0] == "X" && ulong.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq) && seq is > 0 and <= long.MaxValue
            && ParseSet(f[2]) is { } ranges)
        {
            foreach (var (first, last) in ranges)
            {
                Expunged.Add((seq, first, last));
                for (var u = first; u <= last && Messages.Count > 0; u++)
                {
                    Messages.Remove(u);
                    if (u == uint.MaxValue)
                        break;
                }
            }
            Highest = Math.Max(Highest, seq);
            return true;
        }
        return false;
    }

    private static List<(uint First, uint Last)>? ParseSet(string set)
    {
        var ranges = new List<(uint, uint)>();
        foreach (var part in set.Split(','))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (!uint.TryParse(colon < 0 ? part : part[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var first) || first == 0)
                return null;
            var last = first;
            if (colon >= 0 && (!uint.TryParse(part[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out last) || last < first))
                return null;
            ranges.Add((first, last));
        }
        return ranges;
    }

    private static bool Number(string field, char tag, out ulong value)
    {
        value = 0;
        return field.Length > 1 && field[0] == tag && ulong.TryParse(field.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out value)
            && value <= long.MaxValue;
    }

    private static string Line(string text) => $"{text} {Crc32.HashToUInt32(Encoding.ASCII.GetBytes(text)):x8}\n";

    /// <summary>An M line as text: the format spelled out, which tests write crash states with and hold <see cref="Lines.Message"/> to.</summary>
    public static string MessageLine(uint uid, ulong modSeq, string flags) => Line(string.Create(CultureInfo.InvariantCulture, $"M {uid} {modSeq} {flags}"));

    /// <summary>
    /// Lines to append or to write into a new log, as bytes: a first sync of 100,000 messages writes
    /// its M lines here with no string per line. <see cref="Message"/> writes what MessageLine makes.
    /// </summary>
    public sealed class Lines
    {
        private byte[] _bytes;
        private int _length;

        public Lines(int capacity = 0) => _bytes = new byte[Math.Max(256, capacity)];

        public int Count { get; private set; }

        public ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, _length);

        /// <summary>"M UID MODSEQ FLAGS CRC\n"; <paramref name="flags"/> as FlagsOf gives them (printable ASCII).</summary>
        public void Message(uint uid, ulong modSeq, string flags)
        {
            var span = Room(flags.Length + 48);
            var start = _length;
            var at = 0;
            "M "u8.CopyTo(span);
            at += 2;
            uid.TryFormat(span[at..], out var n, default, CultureInfo.InvariantCulture);
            at += n;
            span[at++] = (byte)' ';
            modSeq.TryFormat(span[at..], out n, default, CultureInfo.InvariantCulture);
            at += n;
            span[at++] = (byte)' ';
            at += Encoding.ASCII.GetBytes(flags, span[at..]);
            End(start, at);
        }

        /// <summary>A line MessageLine or ExpungeLines made.</summary>
        public void Add(string line)
        {
            _length += Encoding.ASCII.GetBytes(line, Room(line.Length));
            Count++;
        }

        private void End(int start, int textLength)
        {
            var span = _bytes.AsSpan(start);
            var crc = Crc32.HashToUInt32(span[..textLength]);
            span[textLength] = (byte)' ';
            crc.TryFormat(span[(textLength + 1)..], out var n, "x8", CultureInfo.InvariantCulture);
            span[textLength + 1 + n] = (byte)'\n';
            _length = start + textLength + n + 2;
            Count++;
        }

        private Span<byte> Room(int needed)
        {
            if (_bytes.Length - _length < needed)
                Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _length + needed));
            return _bytes.AsSpan(_length);
        }
    }

    /// <summary>X lines for these UIDs (ascending), at most RangesPerLine ranges each.</summary>
    public static IEnumerable<string> ExpungeLines(ulong modSeq, IEnumerable<uint> uids)
    {
        var ranges = Ranges(uids);
        for (var i = 0; i < ranges.Count; i += RangesPerLine)
            yield return Line(string.Create(CultureInfo.InvariantCulture,
                $"X {modSeq} {string.Join(',', ranges.Skip(i).Take(RangesPerLine).Select(r => r.First == r.Last ? $"{r.First}" : $"{r.First}:{r.Last}"))}"));
    }

    public static List<(uint First, uint Last)> Ranges(IEnumerable<uint> uids)
    {
        var ranges = new List<(uint First, uint Last)>();
        foreach (var u in uids.Order())
        {
            if (ranges.Count > 0 && (ranges[^1].Last == u || ranges[^1].Last + 1 == u))
                ranges[^1] = (ranges[^1].First, u);
            else
                ranges.Add((u, u));
        }
        return ranges;
    }

    /// <summary>
    /// Appends these lines in one write and fsyncs the log; the caller holds the guard and has just
    /// caught up. A torn tail (bytes after the last whole line) is cut first.
    /// </summary>
    public void Append(IReadOnlyCollection<string> lines)
    {
        var bytes = new Lines();
        foreach (var line in lines)
            bytes.Add(line);
        Append(bytes);
    }

    /// <inheritdoc cref="Append(IReadOnlyCollection{string})"/>
    public void Append(Lines lines)
    {
        if (lines.Count == 0)
            return;
        if (_header is null)
            throw new InvalidOperationException("the mod-sequence log was not read before an append");
        var bytes = lines.Bytes;
        using (var f = new FileStream(Path_, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1))
        {
            if (f.Length != _offset)
                f.SetLength(_offset); // a torn append of a writer that died: never shown, so cut
            f.Position = _offset;
            f.Write(bytes);
            f.Flush(flushToDisk: true);
        }
        ReadLines(bytes); // sizes the table once for a long append (a first sync's 100,000 M lines)
    }

    /// <summary>
    /// Replaces the log (tmp, fsync, rename, fsync the folder) with a header and these lines, and
    /// reads it back. The caller holds the guard.
    /// </summary>
    public void Create(uint uidValidity, ulong generation, ulong @base, ulong forgotten, Lines? lines = null)
    {
        var tmp = Path_ + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(Encoding.ASCII.GetBytes(Line(string.Create(CultureInfo.InvariantCulture, $"MWMODSEQ 1 G{generation} V{uidValidity} B{@base} F{forgotten}"))));
            if (lines is not null)
                f.Write(lines.Bytes);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, Path_, overwrite: true);
        using (var dir = Libc.Open(folder, Libc.ORdOnly | Libc.ODirectory))
            Libc.Fsync(dir);
        Reset();
        if (CatchUp() != ReadOutcome.Ok)
            throw new IOException($"the mod-sequence log just written in {folder} does not read back");
    }

    /// <summary>Keeps a log whose header does not parse for the admin, before a new one replaces it.</summary>
    public void SetAsideGarbled()
    {
        try
        {
            File.Move(Path_, Path_ + ".garbled", overwrite: true);
        }
        catch (FileNotFoundException)
        {
        }
        Reset();
    }

    /// <summary>Large enough, and mostly lines no longer needed: time to compact (docs/mail-store.md "Compaction").</summary>
    public bool WantsCompaction => Damaged || _offset > CompactAbove && _lines > 2 * (Messages.Count + 1000);

    /// <summary>
    /// Rewrites the log as one M line per live message and the X lines of the newest
    /// <paramref name="history"/> expunged UIDs. A damaged log instead gives every message a new
    /// mod-sequence and forgets every expunge, so clients refetch all flags.
    /// </summary>
    public void Compact(int history)
    {
        var forgotten = Forgotten;
        var lines = new Lines(Messages.Count * 32);
        if (Damaged)
        {
            var seq = Highest + 1;
            forgotten = Highest;
            foreach (var m in Messages.OrderBy(m => m.Key))
                lines.Message(m.Key, seq, m.Value.Flags);
        }
        else
        {
            foreach (var m in Messages.OrderBy(m => m.Key))
                lines.Message(m.Key, m.Value.ModSeq, m.Value.Flags);
            var kept = new List<(ulong ModSeq, uint First, uint Last)>();
            long count = 0;
            for (var i = Expunged.Count - 1; i >= 0; i--)
            {
                var (seq, first, last) = Expunged[i];
                count += (long)last - first + 1;
                if (count > history)
                {
                    forgotten = Math.Max(forgotten, seq);
                    break;
                }
                kept.Add(Expunged[i]);
            }
            kept.Reverse();
            foreach (var group in kept.Where(k => k.ModSeq > forgotten).GroupBy(k => k.ModSeq))
                foreach (var line in ExpungeLines(group.Key, group.SelectMany(r => Enumerable.Range(0, (int)(r.Last - r.First + 1)).Select(d => r.First + (uint)d))))
                    lines.Add(line);
        }
        Create(UidValidity, Generation + 1, Highest, forgotten, lines);
    }

    /// <summary>
    /// The UIDs expunged after <paramref name="modSeq"/> (RFC 7162 §3.2.5.2); when that history is
    /// forgotten, every UID below <paramref name="uidNext"/> not in <paramref name="present"/> (§3.2.10 lets a
    /// server report UIDs the client never had).
    /// </summary>
    public List<(uint First, uint Last)> ExpungedSince(ulong modSeq, uint uidNext, IReadOnlyList<uint> present)
    {
        if (modSeq < Forgotten)
        {
            var missing = new List<(uint, uint)>();
            uint next = 1;
            foreach (var u in present)
            {
                if (u > next)
                    missing.Add((next, u - 1));
                next = u + 1;
            }
            if (next < uidNext)
                missing.Add((next, uidNext - 1));
            return missing;
        }
        var ranges = Expunged.Where(e => e.ModSeq > modSeq).Select(e => (e.First, e.Last)).OrderBy(r => r.First).ToList();
        var merged = new List<(uint First, uint Last)>();
        foreach (var (first, last) in ranges)
        {
            if (merged.Count > 0 && (long)merged[^1].Last + 1 >= first)
                merged[^1] = (merged[^1].First, Math.Max(merged[^1].Last, last));
            else
                merged.Add((first, last));
        }
        return merged;
    }

    /// <summary>True when the log says <paramref name="uid"/> was expunged (within the remembered history).</summary>
    public bool WasExpunged(uint uid) => Expunged.Any(e => uid >= e.First && uid <= e.Last);
}
