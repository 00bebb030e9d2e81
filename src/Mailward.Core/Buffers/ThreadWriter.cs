// A byte writer kept per thread for a small piece built whole and then copied out (a structure
// record, a rendered ENVELOPE or BODYSTRUCTURE): one per message of a big folder's first metadata
// FETCH, where a new writer each time grew by doubling and was thrown away.
using System.Buffers;

namespace Mailward.Core.Buffers;

public static class ThreadWriter
{
    /// <summary>A writer that grew past this is not kept (one huge piece should not hold its buffer for good).</summary>
    private const int KeptCapacity = 1 << 16;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_kept;

    /// <summary>The thread's writer, empty; it is the caller's until <see cref="CopyAndKeep"/> (a build inside a build gets a new one).</summary>
    public static ArrayBufferWriter<byte> Take()
    {
        var writer = t_kept ?? new ArrayBufferWriter<byte>(4096);
        t_kept = null;
        return writer;
    }

    /// <summary>What the writer holds, copied out; the writer is kept for the thread's next <see cref="Take"/>.</summary>
    public static byte[] CopyAndKeep(ArrayBufferWriter<byte> writer)
    {
        var bytes = writer.WrittenSpan.ToArray();
        if (writer.Capacity <= KeptCapacity)
        {
            writer.ResetWrittenCount();
            t_kept = writer;
        }
        return bytes;
    }
}
