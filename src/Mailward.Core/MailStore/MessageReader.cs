// Reads one stored message front to back with plain positioned reads: no stream layers, one read
// call per block (pread itself: RandomAccess.Read would add an lseek on a handle opened by openat).
// A message read ahead whole (StructureReadAhead) is served from its pooled buffer instead.
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.MailStore;

/// <summary>With the size known from the name, the read that would only say "end" is skipped.</summary>
public sealed class MessageReader : IDisposable
{
    private readonly SafeFileHandle? _handle;
    private readonly long _knownSize;
    private byte[]? _bytes; // a whole file read ahead, from ArrayPool.Shared: returned at Dispose
    private long _offset;

    public MessageReader(SafeFileHandle handle, long knownSize = -1)
    {
        _handle = handle;
        _knownSize = knownSize;
    }

    /// <summary>A message already read whole into <paramref name="pooled"/> (rented from ArrayPool.Shared; this reader returns it).</summary>
    internal MessageReader(byte[] pooled, int length)
    {
        _bytes = pooled;
        _knownSize = length;
    }

    public int Read(Span<byte> buffer)
    {
        if (_knownSize >= 0 && _offset >= _knownSize)
            return 0;
        var n = ReadAt(buffer, _offset);
        _offset += n;
        return n;
    }

    /// <summary>Reads at an offset without moving the front-to-back position (sections, structure parsing).</summary>
    public int ReadAt(Span<byte> buffer, long offset)
    {
        if (_handle is not null)
            return Posix.Libc.PRead(_handle, buffer, offset);
        var bytes = _bytes ?? throw new ObjectDisposedException(nameof(MessageReader));
        if (offset >= _knownSize)
            return 0;
        var n = (int)Math.Min(buffer.Length, _knownSize - offset);
        bytes.AsSpan((int)offset, n).CopyTo(buffer);
        return n;
    }

    /// <summary>Fills <paramref name="into"/> from the start of the message; false when the file is shorter than that.</summary>
    public bool ReadWhole(Span<byte> into)
    {
        var n = 0;
        int read;
        while (n < into.Length && (read = ReadAt(into[n..], n)) > 0)
            n += read;
        return n == into.Length;
    }

    /// <summary>The whole message when it was read ahead into memory (no read needed), else false.</summary>
    internal bool TryGetBytes(out byte[] bytes, out int length)
    {
        (bytes, length) = (_bytes ?? [], _bytes is null ? 0 : (int)_knownSize);
        return _bytes is not null;
    }

    /// <summary>The file's length in bytes.</summary>
    public long Length => _knownSize >= 0 ? _knownSize : RandomAccess.GetLength(_handle!);

    public void Dispose()
    {
        _handle?.Dispose();
        if (Interlocked.Exchange(ref _bytes, null) is { } bytes)
            System.Buffers.ArrayPool<byte>.Shared.Return(bytes);
    }
}
