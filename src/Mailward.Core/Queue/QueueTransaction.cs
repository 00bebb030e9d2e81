// One message on its way into the queue: its id, envelope and body. The body is held in memory up
// to Queue:InlineBodyBytes and spills to tmp/ID beyond; CommitAsync returns only when the message
// is durable (docs/queue-format.md, "Commit"). Disposed without commit, it leaves nothing behind.
namespace Mailward.Core.Queue;

public sealed class QueueTransaction : IAsyncDisposable
{
    private readonly QueueStore _queue;
    private readonly int _inlineLimit;
    private MemoryStream? _memory = new();
    private FileStream? _spill;
    private bool _committed;

    internal QueueTransaction(QueueStore queue, string queueId, QueueEnvelope envelope, DateTimeOffset arrivedAt, int inlineLimit)
    {
        _queue = queue;
        QueueId = queueId;
        Envelope = envelope;
        ArrivedAt = arrivedAt;
        _inlineLimit = inlineLimit;
    }

    public string QueueId { get; }
    public QueueEnvelope Envelope { get; }
    public DateTimeOffset ArrivedAt { get; }
    public long BodyLength { get; private set; }

    /// <summary>Header fields to deliver above the body, decided after it was spooled (docs/queue-format.md, top fields).</summary>
    public byte[]? TopFields { get; private set; }

    internal string TempPath => _queue.TempPath(QueueId);
    internal bool Spilled => _spill is not null;
    internal ReadOnlySpan<byte> InlineBody => _memory!.GetBuffer().AsSpan(0, (int)_memory.Length);

    /// <summary>Appends body bytes (the message as it will be delivered, CRLF line ends).</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        BodyLength += bytes.Length;
        if (_spill is null && _memory!.Length + bytes.Length <= _inlineLimit)
        {
            _memory.Write(bytes.Span);
            return;
        }
        if (_spill is null)
        {
            _spill = new FileStream(TempPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16, FileOptions.Asynchronous); // Read: OpenWrittenAsync
            await _spill.WriteAsync(_memory!.GetBuffer().AsMemory(0, (int)_memory.Length), ct);
            _memory = null;
        }
        await _spill.WriteAsync(bytes, ct);
    }

    /// <summary>
    /// Sets the top fields: whole header fields, each ending in CRLF, at most 64 KiB in all. The end of
    /// DATA's checks (Authentication-Results) write here what they could not write above the body.
    /// </summary>
    public void SetTopFields(ReadOnlySpan<byte> fields)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        if (fields.Length > QueueRecord.MaxTopFields || (fields.Length > 0 && !fields.EndsWith("\r\n"u8)))
            throw new ArgumentException("top fields must be whole header fields of at most 64 KiB");
        TopFields = fields.Length == 0 ? null : fields.ToArray();
    }

    /// <summary>
    /// The bytes written so far, to read before the commit (the door's DKIM check): the inline buffer,
    /// or the spill file after its buffered writes reach the file. Nothing more is written while it is read.
    /// </summary>
    public async ValueTask<Stream> OpenWrittenAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        if (_spill is null)
            return new MemoryStream(_memory!.GetBuffer(), 0, (int)_memory.Length, writable: false);
        await _spill.FlushAsync(ct);
        return new FileStream(TempPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.Asynchronous);
    }

    /// <summary>Makes the message durable; the queue id once the log's fsync has returned.</summary>
    public Task<string> CommitAsync(CancellationToken ct = default) => CommitAsync(null, ct);

    /// <summary>
    /// Commits, running <paramref name="beforeDelivery"/> on the queue's writer after the fsync and
    /// before the delivery loop is handed the message (the pickup drain removes its file there). It
    /// must be quick and must not throw.
    /// </summary>
    public async Task<string> CommitAsync(Action? beforeDelivery, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        if (_spill is not null)
        {
            await _spill.FlushAsync(ct);
            _spill.Flush(flushToDisk: true);
            await _spill.DisposeAsync();
            _spill = null;
            File.Move(TempPath, _queue.BodyPath(QueueId));
            _memory = null;
            await _queue.AppendMessageAsync(this, fileBody: true, ct, beforeDelivery);
        }
        else
            await _queue.AppendMessageAsync(this, fileBody: false, ct, beforeDelivery);
        _committed = true;
        return QueueId;
    }

    public async ValueTask DisposeAsync()
    {
        if (_spill is not null)
        {
            await _spill.DisposeAsync();
            _spill = null;
        }
        if (!_committed)
        {
            TryDelete(TempPath);
            // A body moved into body/ whose record never committed is removed too (invariant 3).
            if (!_queue.Contains(QueueId))
                TryDelete(_queue.BodyPath(QueueId));
        }
        _memory = null;
        _committed = true;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
