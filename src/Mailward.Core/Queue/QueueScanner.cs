// Reads the queue log from the start: validates every record, rebuilds the index of queued
// messages, and reports where a torn tail begins. Used at start-up by the writer (which then
// truncates) and by `mailward queue list|stat` (which never writes).
namespace Mailward.Core.Queue;

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
        public readonly Dictionary<int, string> Reasons = [];
        public required string Segment;

        public QueuedMessage ToMessage() => new(QueueId, ArrivedAt, Envelope, BodyLength, Body, new Dictionary<int, RecipientOutcome>(Done),
            new Dictionary<int, string>(Reasons));
    }

    internal sealed record Result(
        Dictionary<string, Entry> Messages,
        IReadOnlyList<string> Segments,
        List<string> Errors,
        (string Segment, long ValidLength)? TornTail)
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
        var errors = new List<string>();
        var held = new Dictionary<string, int>(StringComparer.Ordinal);
        (string, long)? torn = null;
        for (var s = 0; s < segments.Count; s++)
        {
            var last = s == segments.Count - 1;
            var (valid, error) = ScanSegment(segments[s], bodyDir, messages, held);
            if (error is null)
                continue;
            if (last)
                torn = (segments[s], valid);
            else
                errors.Add($"{Path.GetFileName(segments[s])}: {error} at offset {valid}; the rest of this segment was skipped");
        }
        var result = new Result(messages, segments, errors, torn);
        foreach (var (segment, count) in held)
            result.Held[segment] = count;
        return result;
    }

    /// <summary>Applies a segment's records; the length of its valid prefix and the first problem, if any.</summary>
    private static (long Valid, string? Error) ScanSegment(string path, string bodyDir, Dictionary<string, Entry> messages, Dictionary<string, int> held)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        var header = new byte[QueueRecord.HeaderSize];
        long offset = 0;
        while (true)
        {
            var got = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (got == 0)
                return (offset, null);
            if (got < header.Length)
                return (offset, "incomplete record header");
            var length = QueueRecord.PayloadLength(header);
            if (length < 0)
                return (offset, "invalid record header");
            var record = new byte[QueueRecord.HeaderSize + length + QueueRecord.TrailerSize];
            header.CopyTo(record, 0);
            var rest = record.Length - header.Length;
            if (file.ReadAtLeast(record.AsSpan(header.Length), rest, throwOnEndOfStream: false) < rest)
                return (offset, "incomplete record");
            if (!QueueRecord.TrailerValid(record, length))
                return (offset, "record checksum or end marker wrong");
            try
            {
                Apply((QueueRecordType)header[4], record.AsSpan(QueueRecord.HeaderSize, length), path, offset, bodyDir, messages);
                if ((QueueRecordType)header[4] == QueueRecordType.Message)
                    held[path] = held.GetValueOrDefault(path) + 1;
            }
            catch (InvalidDataException e)
            {
                return (offset, e.Message);
            }
            offset += record.Length;
        }
    }

    private static void Apply(QueueRecordType type, ReadOnlySpan<byte> payload, string segment, long recordOffset, string bodyDir, Dictionary<string, Entry> messages)
    {
        var r = new PayloadReader(payload);
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
                    var bodyOffset = recordOffset + QueueRecord.HeaderSize + r.Position;
                    r.Bytes(checked((int)bodyLength));
                    location = new QueueBodyLocation(segment, bodyOffset, null);
                }
                else if (kind == 1)
                    location = new QueueBodyLocation(null, 0, Path.Combine(bodyDir, id));
                else
                    throw new InvalidDataException("unknown body kind");
                if (!r.AtEnd)
                    throw new InvalidDataException("message record has trailing bytes");
                messages[id] = new Entry
                {
                    QueueId = id,
                    ArrivedAt = arrived,
                    Envelope = envelope,
                    BodyLength = bodyLength,
                    Body = location,
                    Segment = segment,
                };
                break;
            case QueueRecordType.RecipientDone:
                var doneId = r.String();
                var index = r.Int32();
                var outcome = (RecipientOutcome)r.Byte();
                r.Int64();
                var reason = r.AtEnd ? "" : r.String();
                if (messages.TryGetValue(doneId, out var entry))
                {
                    entry.Done[index] = outcome;
                    if (reason.Length > 0)
                        entry.Reasons[index] = reason;
                }
                break;
            case QueueRecordType.MessageRemoved:
                messages.Remove(r.String());
                break;
        }
    }
}
