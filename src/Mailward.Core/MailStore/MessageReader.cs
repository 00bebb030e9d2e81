// Reads one stored message front to back with plain positioned reads: no stream layers, one read
// call per block (pread itself: RandomAccess.Read would add an lseek on a handle opened by openat).
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.MailStore;

/// <summary>With the size known from the name, the read that would only say "end" is skipped.</summary>
public sealed class MessageReader(SafeFileHandle handle, long knownSize = -1) : IDisposable
{
    private long _offset;

    public int Read(Span<byte> buffer)
    {
        if (knownSize >= 0 && _offset >= knownSize)
            return 0;
        var n = Posix.Libc.PRead(handle, buffer, _offset);
        _offset += n;
        return n;
    }

    /// <summary>Reads at an offset without moving the front-to-back position (sections, structure parsing).</summary>
    public int ReadAt(Span<byte> buffer, long offset) => Posix.Libc.PRead(handle, buffer, offset);

    /// <summary>The file's length in bytes.</summary>
    public long Length => knownSize >= 0 ? knownSize : RandomAccess.GetLength(handle);

    public void Dispose() => handle.Dispose();
}
