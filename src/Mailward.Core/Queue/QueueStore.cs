// The durable queue (docs/queue-format.md): one writer process holds queue/lock, recovers what a
// crash left, and appends records to the log through a group-committing writer: every commit
// waiting when the writer wakes shares one fsync. No network code lives here.
using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Mailward.Core.Queue;

public sealed record QueueOptions
{
    public int InlineBodyBytes { get; init; } = 64 * 1024;
    public long SegmentBytes { get; init; } = 64L << 20;

    /// <summary>Most commits sharing one fsync; 1 turns group commit off (for measuring it).</summary>
    public int MaxCommitBatch { get; init; } = 4096;
}

public sealed class QueueStore : IAsyncDisposable
{
    private readonly string _dir;
    private readonly QueueOptions _options;
    private readonly TimeProvider _time;
    private readonly FileStream _lock;
    private readonly ConcurrentDictionary<string, QueuedMessage> _index = new(StringComparer.Ordinal);
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly object _idLock = new();
    private long _lastIdMs;
    private int _idSeq;
    private FileStream? _segment;
    private long _segmentNumber;
    private int _disposed;
    private readonly ConcurrentDictionary<string, string> _segmentOf = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _liveIn = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _heldIn = new(StringComparer.Ordinal); // message records ever placed in a segment
    // Made by the one consumer's subscription: with delivery off (Delivery:Enabled=false) nothing
    // subscribes, and committed messages are not kept in memory for a reader that never comes.
    private Channel<QueuedMessage>? _committed;

    /// <summary>A record to append; Message is set for message records, Apply runs after the fsync.</summary>
    private sealed record Pending(byte[] Record, int BodyOffsetInRecord, QueuedMessage? Message, bool FileBody, TaskCompletionSource Done, Action? Apply = null);

    /// <summary>Every message as soon as its commit returned: delivery starts at once, no polling.</summary>
    /// <summary>
    /// Messages committed from now on, for the one delivery loop. Subscribe before reading
    /// <see cref="Messages"/>, so nothing falls between the two (a message in both is seen twice).
    /// </summary>
    public ChannelReader<QueuedMessage> SubscribeCommitted()
    {
        var channel = Channel.CreateUnbounded<QueuedMessage>(); // not SingleReader: that kind cannot count
        if (Interlocked.CompareExchange(ref _committed, channel, null) is not null)
            throw new InvalidOperationException("the queue has a delivery loop already");
        if (Volatile.Read(ref _disposed) == 1)
            channel.Writer.TryComplete();
        return channel.Reader;
    }

    /// <summary>Committed messages waiting for the delivery loop to pick them up (0 without one).</summary>
    public int CommittedWaiting => Volatile.Read(ref _committed)?.Reader.Count ?? 0;

    /// <summary>Damage found at start-up and anything that could not be saved: one line each, logged as errors.</summary>
    public IReadOnlyList<string> RecoveryErrors { get; }

    /// <summary>What recovery did that is no error: a torn tail saved and cut, bodies kept in corrupt/.</summary>
    public IReadOnlyList<string> RecoveryNotes { get; }

    /// <summary>What the start-up scan found: damaged ranges, suspect and held messages, the torn tail.</summary>
    public QueueHealth Health { get; }

    public int RecoveredTornRecords { get; }
    public long FsyncCount { get; private set; }

    // Segments with damage that could not be saved to corrupt/: never deleted, they hold its only copy.
    private readonly HashSet<string> _pinned;

    private QueueStore(string dir, QueueOptions options, TimeProvider time, FileStream lockFile, QueueScanner.Result scan, Recovery recovery)
    {
        _dir = dir;
        _options = options;
        _time = time;
        _lock = lockFile;
        _pinned = recovery.Pinned;
        foreach (var seg in scan.Segments)
            _liveIn.TryAdd(seg, 0);
        foreach (var (seg, count) in scan.Held)
            _heldIn[seg] = count;
        foreach (var e in scan.Messages.Values)
        {
            _index[e.QueueId] = e.ToMessage();
            _segmentOf[e.QueueId] = e.Segment;
            _liveIn.AddOrUpdate(e.Segment, 1, (_, n) => n + 1);
        }
        _lastIdMs = scan.Messages.Values.Select(e => IdMilliseconds(e.QueueId)).DefaultIfEmpty(0).Max();
        Health = scan.Health;
        RecoveryErrors = recovery.Errors;
        RecoveryNotes = recovery.Notes;
        RecoveredTornRecords = (scan.Health.TornTail is null ? 0 : 1) + recovery.RemovedTemp;
        _segmentNumber = scan.Segments.Count == 0 ? 0 : long.Parse(Path.GetFileNameWithoutExtension(scan.Segments[^1]));
        if (recovery.StartNewSegment)
            _segmentNumber++; // the torn tail could not be saved: leave it in place and append elsewhere
        _writer = Task.Run(WriteLoopAsync);
    }

    private sealed record Recovery(List<string> Errors, List<string> Notes, HashSet<string> Pinned, int RemovedTemp, bool StartNewSegment);

    /// <summary>Takes the queue's lock, recovers after a crash and starts the writer.</summary>
    public static QueueStore Open(string queueDir, QueueOptions? options = null, TimeProvider? time = null)
    {
        queueDir = Path.GetFullPath(queueDir);
        time ??= TimeProvider.System;
        foreach (var sub in new[] { "log", "body", "tmp" })
            Directory.CreateDirectory(Path.Combine(queueDir, sub), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(queueDir, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"the queue {queueDir} is in use by another mailward process", e);
        }
        try
        {
            // tmp/: bodies that never reached commit; no client got a 250 for them.
            var removed = 0;
            foreach (var f in Directory.GetFiles(Path.Combine(queueDir, "tmp")))
            {
                File.Delete(f);
                removed++;
            }
            var scan = QueueScanner.Scan(queueDir);
            var recovery = new Recovery([.. scan.Health.Lines()], [], new HashSet<string>(StringComparer.Ordinal), removed, false);
            var corrupt = new CorruptFolder(queueDir, time);
            // Damage is saved before anything is cut or deleted (docs/queue-format.md, "Damage").
            foreach (var d in scan.Health.Damage)
                if (!corrupt.TrySaveRange(d, "damaged", out var error))
                {
                    recovery.Pinned.Add(d.Segment);
                    recovery.Errors.Add(error!);
                }
            if (scan.Health.TornTail is { } torn)
            {
                if (corrupt.TrySaveRange(torn, "torn", out var error))
                {
                    using var f = new FileStream(torn.Segment, FileMode.Open, FileAccess.Write, FileShare.Read);
                    f.SetLength(torn.Start);
                    f.Flush(flushToDisk: true);
                    recovery.Notes.Add($"torn tail cut (a crash during a write, no commit of it returned): {Path.GetFileName(torn.Segment)} " +
                        $"bytes {torn.Start}-{torn.End}, saved as corrupt/{torn.SavedName("torn")}");
                }
                else
                {
                    recovery = recovery with { StartNewSegment = true };
                    recovery.Errors.Add(error + "; the tail stays and a new segment is started");
                }
            }
            // body/ files no record names: committed to disk, never to the log (deleted), unless
            // damage or a torn tail was found: then they may be a damaged message's, and are kept.
            var salvage = scan.Health.Damage.Count > 0 || scan.Health.TornTail is not null;
            foreach (var f in Directory.GetFiles(Path.Combine(queueDir, "body")))
                if (!scan.Messages.ContainsKey(Path.GetFileName(f)))
                {
                    if (!salvage)
                        File.Delete(f);
                    else if (corrupt.TryKeepBody(f, out var error))
                        recovery.Notes.Add($"body file {Path.GetFileName(f)} names no valid record; kept as corrupt/{Path.GetFileName(f)}.body");
                    else
                        recovery.Errors.Add(error!);
                }
            return new QueueStore(queueDir, options ?? new QueueOptions(), time, lockFile, scan, recovery);
        }
        catch
        {
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>Reads the queue as it is on disk, without the lock and without changing anything.</summary>
    public static (IReadOnlyList<QueuedMessage> Messages, IReadOnlyList<string> Errors) ReadSnapshot(string queueDir)
    {
        var (messages, health) = Check(queueDir);
        return (messages, health.Lines());
    }

    /// <summary>`mailward queue check`: the queue as on disk and what is wrong with it, without the lock, changing nothing.</summary>
    public static (IReadOnlyList<QueuedMessage> Messages, QueueHealth Health) Check(string queueDir)
    {
        var scan = QueueScanner.Scan(queueDir);
        return (scan.Messages.Values.Select(e => e.ToMessage()).OrderBy(m => m.QueueId, StringComparer.Ordinal).ToList(), scan.Health);
    }

    public IReadOnlyCollection<QueuedMessage> Messages => _index.Values.ToList();

    /// <summary>How many messages are queued and when the oldest arrived, without copying the index (for /metrics).</summary>
    public (int Count, DateTimeOffset? OldestArrival) Summary()
    {
        var (count, oldest) = (0, (DateTimeOffset?)null);
        foreach (var m in _index.Values)
        {
            count++;
            if (oldest is null || m.ArrivedAt < oldest)
                oldest = m.ArrivedAt;
        }
        return (count, oldest);
    }

    /// <summary>The writer runs and the queue is open: commits can be taken (for /healthz).</summary>
    public bool Accepting => !_writer.IsCompleted && Volatile.Read(ref _disposed) == 0;

    public bool Contains(string queueId) => _index.ContainsKey(queueId);

    internal string TempPath(string id) => Path.Combine(_dir, "tmp", id);
    internal string BodyPath(string id) => Path.Combine(_dir, "body", id);

    /// <summary>Starts a message: the single entry for every producer (SMTP, sendmail, bounces, forwards, lists).</summary>
    public QueueTransaction Begin(QueueEnvelope envelope)
    {
        ArgumentOutOfRangeException.ThrowIfZero(envelope.Recipients.Count);
        return new QueueTransaction(this, NextId(), envelope, _time.GetUtcNow(), _options.InlineBodyBytes);
    }

    /// <summary>A queued message as it is delivered: its top fields, then its body as committed (seekable).</summary>
    public static Stream OpenBody(QueuedMessage message)
    {
        var body = OpenStoredBody(message);
        return message.TopFields is { Length: > 0 } top ? new PrefixedStream(top, body) : body;
    }

    private static Stream OpenStoredBody(QueuedMessage message)
    {
        if (message.Body.FilePath is { } path)
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        var f = new FileStream(message.Body.SegmentPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        f.Position = message.Body.Offset;
        return new SubStream(f, message.BodyLength);
    }

    /// <summary>Queue ids sort by arrival: 11 hex digits of Unix milliseconds, 5 of sequence.</summary>
    private string NextId()
    {
        lock (_idLock)
        {
            var ms = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (ms <= _lastIdMs)
            {
                ms = _lastIdMs;
                if (++_idSeq > 0xFFFFF)
                {
                    ms++;
                    _idSeq = 0;
                }
            }
            else
                _idSeq = 0;
            _lastIdMs = ms;
            return $"{ms:X11}{_idSeq:X5}";
        }
    }

    private static long IdMilliseconds(string id) =>
        id.Length == 16 && long.TryParse(id.AsSpan(0, 11), System.Globalization.NumberStyles.HexNumber, null, out var ms) ? ms : 0;

    internal Task AppendMessageAsync(QueueTransaction tx, bool fileBody, CancellationToken ct, Action? beforeDelivery = null)
    {
        var (record, bodyOffset) = MessageRecord(tx.QueueId, tx.ArrivedAt, tx.Envelope, fileBody, tx.BodyLength, fileBody ? default : tx.InlineBody, tx.TopFields);
        var message = new QueuedMessage(tx.QueueId, tx.ArrivedAt, tx.Envelope, tx.BodyLength,
            new QueueBodyLocation(null, 0, fileBody ? BodyPath(tx.QueueId) : null), new Dictionary<int, RecipientOutcome>(), TopFields: tx.TopFields);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(new Pending(record, fileBody ? -1 : bodyOffset, message, fileBody, done, beforeDelivery)), this);
        // The commit is not cancellable once handed over: the record may already be on disk.
        return done.Task;
    }

    /// <summary>A framed message record and where its inline body starts within it.</summary>
    private static (byte[] Record, int BodyOffset) MessageRecord(string id, DateTimeOffset arrived, QueueEnvelope e, bool fileBody, long bodyLength,
        ReadOnlySpan<byte> inlineBody, byte[]? topFields)
    {
        var w = new PayloadWriter()
            .String(id).Int64(arrived.ToUnixTimeMilliseconds()).String(e.Sender).Int32(e.Recipients.Count);
        foreach (var r in e.Recipients)
            w.String(r);
        w.String(e.ClientAddress).String(e.ClientHelo).String(e.Protocol).String(e.AuthenticatedUser)
            .Byte(fileBody ? (byte)1 : (byte)0).Int64(bodyLength);
        var bodyOffset = QueueRecord.HeaderSize + w.Span.Length;
        if (!fileBody)
            w.Bytes(inlineBody);
        if (topFields is { Length: > 0 })
            w.Int32(topFields.Length).Bytes(topFields); // only when there are some: older readers know the record without them
        return (QueueRecord.Frame(QueueRecordType.Message, w.Span), bodyOffset);
    }

    private static byte[] DoneRecord(string queueId, int recipient, RecipientOutcome outcome, long atMs, RecipientReport report) =>
        QueueRecord.Frame(QueueRecordType.RecipientDone, new PayloadWriter().String(queueId).Int32(recipient).Byte((byte)outcome).Int64(atMs)
            .String(report.Reason).String(report.Code).String(report.RemoteMta).String(report.RemoteReply).Span);

    /// <summary>
    /// Compaction: when the oldest closed segment still holds messages (deferred ones, typically)
    /// and so pins younger closed segments on disk, its live messages are written again, with their
    /// recipient states, at the end of the log; the old copy is then dead and the segments can go.
    /// Runs on the writer between batches, a bounded number of messages at a time.
    /// </summary>
    private void RelocateOldest(int maxMessages)
    {
        if (_segment is null)
            return;
        var closed = _liveIn.Keys.Where(k => k != _segment.Name).Order(StringComparer.Ordinal).ToList();
        if (closed.Count < 2)
            return;
        // Only a mostly dead segment is worth it: at most a quarter of the messages it held still
        // live, so compaction rewrites at most a third of what arrives. A queue that is all
        // deferred (an outage) is left as it is, not copied round and round.
        var live = _liveIn.GetValueOrDefault(closed[0]);
        if (live == 0 || live * 4 > _heldIn.GetValueOrDefault(closed[0]))
            return;
        var oldest = closed[0];
        var moving = _segmentOf.Where(kv => kv.Value == oldest).Select(kv => kv.Key).Take(maxMessages).ToList();
        var placed = new List<(QueuedMessage Message, string Segment, long BodyOffset)>();
        foreach (var id in moving)
        {
            if (!_index.TryGetValue(id, out var m))
                continue;
            var fileBody = m.Body.FilePath is not null;
            byte[] inline = [];
            if (!fileBody)
            {
                inline = new byte[m.BodyLength];
                using var f = new FileStream(m.Body.SegmentPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                f.Position = m.Body.Offset;
                f.ReadExactly(inline);
            }
            var (record, bodyOffset) = MessageRecord(id, m.ArrivedAt, m.Envelope, fileBody, m.BodyLength, inline, m.TopFields);
            var segment = SegmentFor(record.Length);
            var at = segment.Position;
            segment.Write(record);
            var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var (index, outcome) in m.Done)
                segment.Write(DoneRecord(id, index, outcome, now, m.ReportFor(index)));
            placed.Add((m, segment.Name, fileBody ? -1 : at + bodyOffset));
        }
        _segment!.Flush(flushToDisk: true);
        FsyncCount++;
        foreach (var (m, segmentName, bodyOffset) in placed)
        {
            var moved = bodyOffset < 0 ? m : m with { Body = new QueueBodyLocation(segmentName, bodyOffset, null) };
            _index[m.QueueId] = moved;
            if (_segmentOf.TryGetValue(m.QueueId, out var from))
                _liveIn.AddOrUpdate(from, 0, (_, n) => n - 1);
            _segmentOf[m.QueueId] = segmentName;
            _liveIn.AddOrUpdate(segmentName, 1, (_, n) => n + 1);
            _heldIn.AddOrUpdate(segmentName, 1, (_, n) => n + 1);
        }
        Relocated += placed.Count;
    }

    /// <summary>Runs compaction after a batch; a failure cuts its own records off and leaves the batch's alone.</summary>
    private void Compact()
    {
        if (_segment is null)
            return;
        var start = _segment.Length;
        var name = _segment.Name;
        try
        {
            RelocateOldest(maxMessages: 1000);
            DeleteDeadSegments();
        }
        catch (IOException)
        {
            try
            {
                if (_segment is not null && _segment.Name == name)
                {
                    _segment.SetLength(start);
                    _segment.Position = start;
                }
            }
            catch (IOException)
            {
                _segment?.Dispose();
                _segment = null;
            }
        }
    }

    /// <summary>Messages written again by compaction since the store opened.</summary>
    public long Relocated { get; private set; }

    private async Task WriteLoopAsync()
    {
        var batch = new List<Pending>();
        var reader = _pending.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            long bytes = 0;
            while (batch.Count < _options.MaxCommitBatch && bytes < (16 << 20) && reader.TryRead(out var p))
            {
                batch.Add(p);
                bytes += p.Record.Length;
            }
            long rollback = -1;
            try
            {
                if (batch.Any(p => p.FileBody))
                    Fsync.Directory(Path.Combine(_dir, "body"));
                var placed = new List<(Pending P, string Segment, long Offset)>(batch.Count);
                foreach (var p in batch)
                {
                    var segment = SegmentFor(p.Record.Length);
                    rollback = rollback < 0 ? segment.Length : rollback;
                    var offset = segment.Position;
                    segment.Write(p.Record);
                    placed.Add((p, segment.Name, offset));
                }
                _segment!.Flush(flushToDisk: true);
                FsyncCount++;
                foreach (var (p, segmentName, offset) in placed)
                {
                    if (p.Message is { } message)
                    {
                        // A message's Apply is its producer's before-delivery step (the pickup
                        // drain's unlink, docs/pickup-format.md): durable now, not yet seen by
                        // delivery, which finds messages only through the index and the channel.
                        p.Apply?.Invoke();
                        var m = p.BodyOffsetInRecord < 0 ? message
                            : message with { Body = new QueueBodyLocation(segmentName, offset + p.BodyOffsetInRecord, null) };
                        _index[m.QueueId] = m;
                        _segmentOf[m.QueueId] = segmentName;
                        _liveIn.AddOrUpdate(segmentName, 1, (_, n) => n + 1);
                        _heldIn.AddOrUpdate(segmentName, 1, (_, n) => n + 1);
                        _committed?.Writer.TryWrite(m);
                    }
                    else
                        p.Apply?.Invoke();
                    p.Done.TrySetResult();
                }
                DeleteDeadSegments();
            }
            catch (Exception ex)
            {
                // The batch's records may be partly written: cut them off so the log stays a clean
                // sequence, or start a new segment if even that fails. No committer was told "safe".
                try
                {
                    if (rollback >= 0 && _segment is not null)
                    {
                        _segment.SetLength(rollback);
                        _segment.Position = rollback;
                    }
                }
                catch (IOException)
                {
                    _segment?.Dispose();
                    _segment = null;
                }
                foreach (var p in batch)
                    p.Done.TrySetException(new IOException("queue write failed: " + ex.Message, ex));
            }
            Compact();
        }
    }

    /// <summary>
    /// Checkpoints one recipient's outcome (qmail's markdone): durable before the call returns, so
    /// a crash after it never repeats that delivery.
    /// </summary>
    public Task MarkDoneAsync(string queueId, int recipient, RecipientOutcome outcome, RecipientReport? report = null)
    {
        report = report is null ? RecipientReport.None
            : new RecipientReport(Truncate(report.Reason, 1000), Truncate(report.Code, 16), Truncate(report.RemoteMta, 255), Truncate(report.RemoteReply, 1000));
        return Append(DoneRecord(queueId, recipient, outcome, _time.GetUtcNow().ToUnixTimeMilliseconds(), report), () =>
        {
            if (_index.TryGetValue(queueId, out var m))
                _index[queueId] = m with
                {
                    Done = new Dictionary<int, RecipientOutcome>(m.Done) { [recipient] = outcome },
                    Reasons = report.IsEmpty ? m.Reasons
                        : new Dictionary<int, RecipientReport>(m.Reasons ?? new Dictionary<int, RecipientReport>()) { [recipient] = report },
                };
        });
    }

    public Task MarkDoneAsync(string queueId, int recipient, RecipientOutcome outcome, string reason) =>
        MarkDoneAsync(queueId, recipient, outcome, new RecipientReport(reason));

    /// <summary>The current state of a queued message, or null once removed.</summary>
    public QueuedMessage? Find(string queueId) => _index.GetValueOrDefault(queueId);

    private static string Truncate(string s, int chars) => s.Length <= chars ? s : s[..chars];

    /// <summary>Removes a message from the queue (every recipient done, or `queue del`).</summary>
    public async Task RemoveAsync(string queueId)
    {
        var payload = new PayloadWriter().String(queueId).Int64(_time.GetUtcNow().ToUnixTimeMilliseconds());
        await Append(QueueRecord.Frame(QueueRecordType.MessageRemoved, payload.Span), () =>
        {
            if (_index.TryRemove(queueId, out var m) && _segmentOf.TryRemove(queueId, out var segment))
                _liveIn.AddOrUpdate(segment, 0, (_, n) => n - 1);
        });
        try
        {
            File.Delete(BodyPath(queueId));
        }
        catch (IOException)
        {
            // Unreferenced now; the next start removes it.
        }
    }

    private Task Append(byte[] record, Action apply)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(new Pending(record, -1, null, false, done, apply)), this);
        return done.Task;
    }

    /// <summary>
    /// Deletes closed segments from the oldest on, while none of them holds a queued message. Only
    /// in order: a segment may hold recipient-done records of messages in older segments, so it
    /// goes only after them (docs/queue-format.md, "Space").
    /// </summary>
    private void DeleteDeadSegments()
    {
        foreach (var segment in _liveIn.Keys.Order(StringComparer.Ordinal).ToList())
        {
            if (_segment is null || segment == _segment.Name || _liveIn.GetValueOrDefault(segment) > 0 || _pinned.Contains(segment))
                return;
            try
            {
                File.Delete(segment);
                _liveIn.TryRemove(segment, out _);
            }
            catch (IOException)
            {
                return;
            }
        }
    }

    /// <summary>The segment to append to, rolling to a new one past Queue:SegmentBytes.</summary>
    private FileStream SegmentFor(int recordLength)
    {
        if (_segment is not null && _segment.Length > 0 && _segment.Length + recordLength > _options.SegmentBytes)
        {
            _segment.Flush(flushToDisk: true);
            _segment.Dispose();
            _segment = null;
            _segmentNumber++;
        }
        if (_segment is null)
        {
            if (_segmentNumber == 0)
                _segmentNumber = 1;
            var path = Path.Combine(_dir, "log", $"{_segmentNumber:D12}.seg");
            var isNew = !File.Exists(path);
            _segment = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read | FileShare.Delete, 1 << 16);
            _liveIn.TryAdd(_segment.Name, 0);
            _segment.Position = _segment.Length;
            if (isNew)
                Fsync.Directory(Path.Combine(_dir, "log"));
        }
        return _segment;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        _pending.Writer.TryComplete();
        Volatile.Read(ref _committed)?.Writer.TryComplete();
        await _writer;
        if (_segment is not null)
        {
            _segment.Flush(flushToDisk: true);
            await _segment.DisposeAsync();
        }
        await _lock.DisposeAsync();
    }
}

/// <summary>A read-only window of <paramref name="length"/> bytes from the current position of a stream it owns.</summary>
internal sealed class SubStream(Stream inner, long length) : Stream
{
    private readonly long _length = length;
    private readonly long _start = inner.Position;
    private long _remaining = length;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;

    public override long Position
    {
        get => _length - _remaining;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, _length);
            inner.Position = _start + value;
            _remaining = _length - value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_remaining <= 0)
            return 0;
        var n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_remaining <= 0)
            return 0;
        var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
        _remaining -= n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => Position + offset,
        _ => _length + offset,
    };

    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}
