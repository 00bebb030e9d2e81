// Reads the files of a FETCH's next messages on another thread while the session parses the one
// before: a folder's first metadata FETCH spent a fifth of its time in open, pread and close. A
// bounded window of whole small files in pooled buffers, handed to the session by UID, in order.
using System.Buffers;

namespace Mailward.Core.MailStore.Maildir;

internal sealed class StructureReadAhead : IDisposable
{
    /// <summary>Files read ahead of the session at most: enough to cover the reader's wake-ups (it is woken at half).</summary>
    internal const int WindowMessages = 64;

    /// <summary>Bytes held ahead at most per session: a FETCH of big messages holds little more than one.</summary>
    internal const int WindowBytes = 1 << 20;

    /// <summary>Larger files are left to the session, which streams them through the parser.</summary>
    internal const int MaxFileBytes = 128 << 10;

    private readonly Item[] _items;
    private readonly Func<string, long, MessageReader?> _open;
    private readonly Func<string, bool> _cached;
    private readonly Slot[] _ring = new Slot[WindowMessages];
    private readonly object _lock = new();
    // Items before _consumed are the session's (taken, skipped or read by itself); those in
    // [_consumed, _produced) wait in the ring, each at its index modulo the window.
    private int _produced;
    private int _consumed;
    private int _heldBytes;
    private bool _running;
    private bool _stopped;

    /// <param name="items">The messages in the order the session will ask for them.</param>
    /// <param name="open">Opens a file of cur/ by name (null when it is gone); called on the reading thread.</param>
    /// <param name="cached">True when the structure cache holds a message's key: its file is not read.</param>
    public StructureReadAhead(Item[] items, Func<string, long, MessageReader?> open, Func<string, bool> cached)
    {
        _items = items;
        _open = open;
        _cached = cached;
    }

    public readonly record struct Item(uint Uid, string Name, long Size);

    private struct Slot
    {
        public byte[]? Buffer;
        public int Length;
    }

    public void Start()
    {
        lock (_lock)
            Wake();
    }

    /// <summary>
    /// The message's file as read ahead (a reader over a pooled buffer, returned at its Dispose);
    /// null when it was not read ahead (cached, large, gone, or the reader is behind): the session
    /// reads it itself. Items the session passed over are let go.
    /// </summary>
    public MessageReader? Take(uint uid)
    {
        lock (_lock)
        {
            if (_stopped)
                return null;
            // Mostly the next item; a FETCH skips messages expunged meanwhile, so look a little further.
            var limit = Math.Min(_items.Length, _consumed + 2 * WindowMessages);
            var p = _consumed;
            while (p < limit && _items[p].Uid != uid)
                p++;
            if (p == limit)
                return null; // not asked in order: not ours to answer
            for (var k = _consumed; k < Math.Min(p, _produced); k++)
                Release(k);
            Slot taken = default;
            if (p < _produced)
            {
                taken = _ring[p % WindowMessages];
                _ring[p % WindowMessages] = default;
                _heldBytes -= taken.Buffer?.Length ?? 0;
            }
            _consumed = p + 1;
            if (_produced - _consumed <= WindowMessages / 2)
                Wake();
            return taken.Buffer is { } buffer ? new MessageReader(buffer, taken.Length) : null;
        }
    }

    /// <summary>Stops reading and lets every buffer held go (the reading thread drops what it holds when it looks next).</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopped)
                return;
            _stopped = true;
            for (var k = _consumed; k < _produced; k++)
                Release(k);
        }
    }

    private void Release(int index)
    {
        ref var slot = ref _ring[index % WindowMessages];
        if (slot.Buffer is { } buffer)
        {
            _heldBytes -= buffer.Length;
            ArrayPool<byte>.Shared.Return(buffer);
        }
        slot = default;
    }

    /// <summary>Starts the reading thread's turn when it is idle and has work. Caller holds the lock.</summary>
    private void Wake()
    {
        if (_running || _stopped || Math.Max(_produced, _consumed) >= _items.Length)
            return;
        _running = true;
        ThreadPool.UnsafeQueueUserWorkItem(static self => self.Produce(), this, preferLocal: false);
    }

    /// <summary>The reading thread's turn: reads until the window is full or the list done, then leaves.</summary>
    private void Produce()
    {
        try
        {
            ProduceUntilFull();
        }
        catch (Exception)
        {
            // A thread-pool item that throws ends the process, and a read-ahead only ever saves
            // time: it stops, and the session reads whatever is left itself.
            Dispose();
            lock (_lock)
                _running = false;
        }
    }

    private void ProduceUntilFull()
    {
        while (true)
        {
            int i;
            lock (_lock)
            {
                if (_produced < _consumed)
                    _produced = _consumed; // the session went past these
                if (_stopped || _produced >= _items.Length || _produced - _consumed >= WindowMessages || _heldBytes >= WindowBytes)
                {
                    _running = false;
                    return;
                }
                i = _produced;
            }
            var (buffer, length) = Read(_items[i]);
            lock (_lock)
            {
                if (_stopped || i < _consumed || i != _produced)
                {
                    // Let go: stopped, or the session read this one itself meanwhile.
                    if (buffer is not null)
                        ArrayPool<byte>.Shared.Return(buffer);
                    continue;
                }
                _ring[i % WindowMessages] = new Slot { Buffer = buffer, Length = length };
                _heldBytes += buffer?.Length ?? 0;
                _produced = i + 1;
            }
        }
    }

    /// <summary>The whole file in a pooled buffer, or none (large, cached, gone, or shorter than its size says).</summary>
    private (byte[]? Buffer, int Length) Read(Item item)
    {
        if (item.Size is <= 0 or > MaxFileBytes)
            return (null, 0);
        byte[]? buffer = null;
        try
        {
            if (_cached(MaildirName.KeyOf(item.Name)))
                return (null, 0);
            using var reader = _open(item.Name, item.Size);
            if (reader is null)
                return (null, 0);
            buffer = ArrayPool<byte>.Shared.Rent((int)item.Size);
            if (reader.ReadWhole(buffer.AsSpan(0, (int)item.Size)))
                return (buffer, (int)item.Size);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // the session reads it itself, and meets the same trouble there with its own answer
        }
        if (buffer is not null)
            ArrayPool<byte>.Shared.Return(buffer);
        return (null, 0);
    }
}
