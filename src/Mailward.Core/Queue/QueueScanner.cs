// Reads the queue log from the start: validates every record, rebuilds the index of queued
// messages, tells a torn tail from damage, and resynchronises past damage so that no valid record
// behind it is lost (docs/queue-format.md, "Damage"). Never writes: the store saves and cuts.
using System.Buffers.Binary;
using System.Text;

namespace Mailward.Core.Queue;

/// <summary>A damaged byte range of a segment: [Start, End), why, and the queue ids still readable inside it.</summary>
public sealed record QueueDamage(string Segment, long Start, long End, string Reason, IReadOnlyList<string> QueueIds)
{
    public long Length => End - Start;

    /// <summary>The file name its bytes are saved under in queue/corrupt/.</summary>
    public string SavedName(string suffix) => $"{Path.GetFileName(Segment)}@{Start}-{End}.{suffix}";

    public override string ToString() =>
        $"{Path.GetFileName(Segment)} bytes {Start}-{End} ({Length} bytes) damaged: {Reason}; " +
        (QueueIds.Count == 0 ? "no queue id readable in it" : "suspect queue ids: " + string.Join(", ", QueueIds));
}

/// <summary>What a scan found wrong: damaged ranges, suspect messages, held messages and a torn tail.</summary>
public sealed record QueueHealth(
    IReadOnlyList<QueueDamage> Damage,
    IReadOnlyList<string> Suspects,
    IReadOnlyDictionary<string, string> Held,
    QueueDamage? TornTail)
{
    public static readonly QueueHealth Clean = new([], [], new Dictionary<string, string>(), null);

    /// <summary>Damage found: ranges or held messages (a torn tail is a crash's normal trace, not damage).</summary>
    public bool Damaged => Damage.Count > 0 || Held.Count > 0;

    /// <summary>One line per problem, for the log and `queue list|stat`.</summary>
    public IReadOnlyList<string> Lines() =>
    [
        .. Damage.Select(d => d.ToString()),
        .. Held.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}: {kv.Value}; the message is held, not delivered"),
    ];
}

internal static class QueueScanner
{
    internal sealed class Entry
    {
        public required string QueueId;
        public required DateTimeOffset ArrivedAt;
        public required QueueEnvelope Envelope;
        public required long BodyLength;
        public required QueueBodyLocation Body;
        public readonly Dictionary<int, RecipientOutcome> Done = [];
        public readonly Dictionary<int, RecipientReport> Reasons = [];
        public required string Segment;
        public string? Problem;
        public byte[]? TopFields;

        public QueuedMessage ToMessage() => new(QueueId, ArrivedAt, Envelope, BodyLength, Body, new Dictionary<int, RecipientOutcome>(Done),
            new Dictionary<int, RecipientReport>(Reasons), Problem, TopFields);
    }

    internal sealed record Result(Dictionary<string, Entry> Messages, IReadOnlyList<string> Segments, QueueHealth Health)
    {
        /// <summary>Message records each segment holds, live or not (compaction's measure of how dead a segment is).</summary>
        public Dictionary<string, int> Held { get; } = new(StringComparer.Ordinal);
    }

    public static IReadOnlyList<string> Segments(string logDir) =>
        Directory.Exists(logDir)
            ? Directory.GetFiles(logDir, "*.seg").Order(StringComparer.Ordinal).ToList()
            : [];

    public static Result Scan(string queueDir)
    {
        var logDir = Path.Combine(queueDir, "log");
        var bodyDir = Path.Combine(queueDir, "body");
        var segments = Segments(logDir);
        var messages = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var held = new Dictionary<string, int>(StringComparer.Ordinal);
        var damage = new List<QueueDamage>();
        QueueDamage? torn = null;
        for (var s = 0; s < segments.Count; s++)
        {
            SegmentReader segment;
            try
            {
                segment = new SegmentReader(segments[s]);
            }
            catch (FileNotFoundException)
            {
                continue; // deleted by the running writer after the listing: it held nothing live
            }
            using var _ = segment;
            var tail = ScanSegment(segment, bodyDir, messages, held, damage);
            if (tail is null)
                continue;
            // Nothing valid follows: in the newest segment that is where a crash cut a batch short;
            // anywhere else it is damage and stays where it is.
            if (s == segments.Count - 1)
                torn = tail;
            else
                damage.Add(tail);
        }
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in messages.Values)
            if (e.Body.FilePath is { } p)
            {
                var info = new FileInfo(p);
                e.Problem = !info.Exists ? "body file missing"
                    : info.Length != e.BodyLength ? $"body file has {info.Length} bytes, the record says {e.BodyLength}"
                    : null;
                if (e.Problem is not null)
                    problems[e.QueueId] = e.Problem;
            }
        var suspects = damage.SelectMany(d => d.QueueIds).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var result = new Result(messages, segments, new QueueHealth(damage, suspects, problems, torn));
        foreach (var (segment, count) in held)
            result.Held[segment] = count;
        return result;
    }

    /// <summary>Applies a segment's valid records, resynchronising past damage; returns a trailing bad range with nothing valid after it.</summary>
    private static QueueDamage? ScanSegment(SegmentReader segment, string bodyDir, Dictionary<string, Entry> messages,
        Dictionary<string, int> held, List<QueueDamage> damage)
    {
        long offset = 0;
        while (offset < segment.Limit)
        {
            var (record, problem, span) = segment.RecordAt(offset);
            ParsedRecord? parsed = null;
            if (record is not null)
            {
                try
                {
                    parsed = Parse(record, segment.Path, offset, bodyDir);
                }
                catch (InvalidDataException e)
                {
                    problem = e.Message;
                }
            }
            if (parsed is not null)
            {
                Apply(parsed, messages);
                if (parsed.Message is not null)
                    held[segment.Path] = held.GetValueOrDefault(segment.Path) + 1;
                offset += record!.Length;
                continue;
            }
            var next = NextValid(segment, offset, span, bodyDir);
            var bad = new QueueDamage(segment.Path, offset, next < 0 ? segment.Limit : next, problem!,
                segment.QueueIdsIn(offset, next < 0 ? segment.Limit : next));
            if (next < 0)
                return bad;
            damage.Add(bad);
            offset = next;
        }
        return null;
    }

    /// <summary>
    /// The next offset after a bad record where a whole record checks out, or -1. The bad record's
    /// own end comes first when its header claimed one: a record-shaped string inside its body is
    /// then never taken for a record.
    /// </summary>
    private static long NextValid(SegmentReader segment, long bad, long claimedEnd, string bodyDir)
    {
        if (claimedEnd > bad && claimedEnd < segment.Limit && ValidAt(segment, claimedEnd, bodyDir))
            return claimedEnd;
        for (var at = segment.FindMagic(bad + 1); at >= 0; at = segment.FindMagic(at + 1))
            if (ValidAt(segment, at, bodyDir))
                return at;
        return -1;
    }

    private static bool ValidAt(SegmentReader segment, long offset, string bodyDir)
    {
        var (record, _, _) = segment.RecordAt(offset);
        if (record is null)
            return false;
        try
        {
            Parse(record, segment.Path, offset, bodyDir);
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>One record's meaning, parsed but not yet applied.</summary>
    private sealed record ParsedRecord(QueueRecordType Type, string QueueId, Entry? Message = null, int Index = 0,
        RecipientOutcome Outcome = 0, RecipientReport? Report = null);

    private static ParsedRecord Parse(byte[] record, string segment, long recordOffset, string bodyDir)
    {
        var type = (QueueRecordType)record[4];
        var length = record.Length - QueueRecord.HeaderSize - QueueRecord.TrailerSize;
        var r = new PayloadReader(record.AsSpan(QueueRecord.HeaderSize, length));
        switch (type)
        {
            case QueueRecordType.Message:
                var id = r.String();
                var arrived = DateTimeOffset.FromUnixTimeMilliseconds(r.Int64());
                var sender = r.String();
                var count = r.Int32();
                if (count is < 0 or > 100_000)
                    throw new InvalidDataException("recipient count out of range");
                var recipients = new List<string>(count);
                for (var i = 0; i < count; i++)
                    recipients.Add(r.String());
                var envelope = new QueueEnvelope(sender, recipients, r.String(), r.String(), r.String(), r.String());
                var kind = r.Byte();
                var bodyLength = r.Int64();
                QueueBodyLocation location;
                if (kind == 0)
                {
                    if (bodyLength is < 0 or > QueueRecord.MaxPayload)
                        throw new InvalidDataException("inline body length out of range");
                    var bodyOffset = recordOffset + QueueRecord.HeaderSize + r.Position;
                    r.Bytes((int)bodyLength);
                    location = new QueueBodyLocation(segment, bodyOffset, null);
                }
                else if (kind == 1)
                    location = new QueueBodyLocation(null, 0, Path.Combine(bodyDir, SafeId(id)));
                else
                    throw new InvalidDataException("unknown body kind");
                byte[]? top = null;
                if (!r.AtEnd)
                {
                    // The top fields, when the door decided some (docs/queue-format.md).
                    var topLength = r.Int32();
                    if (topLength is < 1 or > QueueRecord.MaxTopFields)
                        throw new InvalidDataException("top fields length out of range");
                    top = r.Bytes(topLength).ToArray();
                }
                if (!r.AtEnd)
                    throw new InvalidDataException("message record has trailing bytes");
                return new ParsedRecord(type, id, new Entry
                {
                    QueueId = id,
                    ArrivedAt = arrived,
                    Envelope = envelope,
                    BodyLength = bodyLength,
                    Body = location,
                    Segment = segment,
                    TopFields = top,
                });
            case QueueRecordType.RecipientDone:
                var doneId = r.String();
                var index = r.Int32();
                var outcome = (RecipientOutcome)r.Byte();
                r.Int64();
                // Each later field was added at the end; records written before it simply stop earlier.
                var reason = r.AtEnd ? "" : r.String();
                var code = r.AtEnd ? "" : r.String();
                var mta = r.AtEnd ? "" : r.String();
                var reply = r.AtEnd ? "" : r.String();
                return new ParsedRecord(type, doneId, Index: index, Outcome: outcome, Report: new RecipientReport(reason, code, mta, reply));
            default:
                return new ParsedRecord(type, r.String());
        }
    }

    /// <summary>A queue id names a file in body/: it never walks out of it.</summary>
    private static string SafeId(string id) =>
        id.Length is > 0 and <= 64 && id.All(char.IsAsciiLetterOrDigit) ? id : throw new InvalidDataException("queue id is not a plain name");

    private static void Apply(ParsedRecord p, Dictionary<string, Entry> messages)
    {
        switch (p.Type)
        {
            case QueueRecordType.Message:
                messages[p.QueueId] = p.Message!;
                break;
            case QueueRecordType.RecipientDone:
                if (messages.TryGetValue(p.QueueId, out var entry))
                {
                    entry.Done[p.Index] = p.Outcome;
                    if (p.Report is { IsEmpty: false } report)
                        entry.Reasons[p.Index] = report;
                }
                break;
            case QueueRecordType.MessageRemoved:
                messages.Remove(p.QueueId);
                break;
        }
    }

    /// <summary>
    /// Positional reads of one segment, up to its length when opened: a record the writer is still
    /// appending is at worst an incomplete tail to a lockless reader, never damage.
    /// </summary>
    private sealed class SegmentReader : IDisposable
    {
        private const int Chunk = 1 << 16;
        private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;
        private readonly byte[] _buffer = new byte[Chunk];

        public SegmentReader(string path)
        {
            Path = path;
            _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Limit = RandomAccess.GetLength(_handle);
        }

        public string Path { get; }
        public long Limit { get; }

        /// <summary>The whole record at <paramref name="offset"/> when its framing checks out; else why not, and its claimed end if the header was sound.</summary>
        public (byte[]? Record, string? Problem, long ClaimedEnd) RecordAt(long offset)
        {
            Span<byte> header = stackalloc byte[QueueRecord.HeaderSize];
            if (Limit - offset < QueueRecord.HeaderSize)
                return (null, "incomplete record header", -1);
            RandomAccess.Read(_handle, header, offset);
            var length = QueueRecord.PayloadLength(header);
            if (length < 0)
                return (null, "invalid record header", -1);
            var total = (long)QueueRecord.HeaderSize + length + QueueRecord.TrailerSize;
            if (offset + total > Limit)
                return (null, "incomplete record", -1);
            var record = new byte[total];
            if (RandomAccess.Read(_handle, record, offset) < total)
                return (null, "incomplete record", -1);
            if (!QueueRecord.TrailerValid(record, length))
                return (null, "record checksum or end marker wrong", offset + total);
            return (record, null, offset + total);
        }

        /// <summary>The first offset at or after <paramref name="from"/> where the record magic starts, or -1.</summary>
        public long FindMagic(long from)
        {
            var buffer = _buffer;
            var magic = QueueRecord.Magic;
            for (var at = from; at < Limit; at += Chunk - (magic.Length - 1))
            {
                var n = RandomAccess.Read(_handle, buffer, at);
                if (n <= 0)
                    return -1;
                var i = buffer.AsSpan(0, n).IndexOf(magic);
                if (i >= 0)
                    return at + i;
                if (at + n >= Limit)
                    return -1;
            }
            return -1;
        }

        /// <summary>Queue ids still readable in [start, end): the id string that opens each record-shaped fragment.</summary>
        public IReadOnlyList<string> QueueIdsIn(long start, long end)
        {
            var ids = new SortedSet<string>(StringComparer.Ordinal);
            TryIdAt(start, ids);
            for (var at = FindMagic(start + 1); at >= 0 && at < end; at = FindMagic(at + 1))
                TryIdAt(at, ids);
            return [.. ids];
        }

        private void TryIdAt(long recordStart, SortedSet<string> ids)
        {
            // Every payload starts with the queue id: a 2-byte length and 16 upper-case hex digits.
            Span<byte> bytes = stackalloc byte[2 + 16];
            var at = recordStart + QueueRecord.HeaderSize;
            if (at + bytes.Length > Limit || RandomAccess.Read(_handle, bytes, at) < bytes.Length)
                return;
            if (BinaryPrimitives.ReadUInt16LittleEndian(bytes) != 16)
                return;
            var id = bytes[2..];
            foreach (var b in id)
                if (!char.IsAsciiHexDigitUpper((char)b) && !char.IsAsciiDigit((char)b))
                    return;
            ids.Add(Encoding.ASCII.GetString(id));
        }

        public void Dispose() => _handle.Dispose();
    }
}
