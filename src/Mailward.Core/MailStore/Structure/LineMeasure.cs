// CRLF sizes and line counts of file regions in one pass: the file has LF line ends (a CR may be
// there too); IMAP counts a bare LF as CRLF (RFC 9051 §7.5.2 sizes). For each offset asked for, the
// pass records how many LFs and bare LFs come before it; a region's CRLF size is then its length
// plus the bare LFs inside it, and its lines the LFs inside it.
namespace Mailward.Core.MailStore.Structure;

internal sealed class LineMeasure
{
    private readonly long[] _offsets;
    private readonly long[] _lfs;
    private readonly long[] _bare;

    private LineMeasure(long[] offsets, long[] lfs, long[] bare) => (_offsets, _lfs, _bare) = (offsets, lfs, bare);

    /// <summary>Reads the stream from its start once; offsets past its end count everything.</summary>
    public static LineMeasure Measure(Stream stream, IEnumerable<long> wanted)
    {
        var offsets = wanted.Distinct().Order().ToArray();
        var lfs = new long[offsets.Length];
        var bare = new long[offsets.Length];
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        long position = 0, lf = 0, bareLf = 0;
        var previous = (byte)0;
        var next = 0;
        stream.Position = 0;
        int n;
        while (next < offsets.Length && (n = stream.Read(buffer, 0, 1 << 16)) > 0)
        {
            for (var i = 0; i < n; i++, position++)
            {
                while (next < offsets.Length && offsets[next] == position)
                    (lfs[next], bare[next++]) = (lf, bareLf);
                var b = buffer[i];
                if (b == (byte)'\n')
                {
                    lf++;
                    if (previous != (byte)'\r')
                        bareLf++;
                }
                previous = b;
            }
        }
        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        for (; next < offsets.Length; next++)
            (lfs[next], bare[next]) = (lf, bareLf);
        return new LineMeasure(offsets, lfs, bare);
    }

    public Region Region(long offset, long end)
    {
        var a = Array.BinarySearch(_offsets, offset);
        var b = Array.BinarySearch(_offsets, end);
        return new Region(offset, end - offset, end - offset + _bare[b] - _bare[a], (int)Math.Min(int.MaxValue, _lfs[b] - _lfs[a]));
    }
}
