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
        var counter = new Counter(SortedDistinct(wanted));
        stream.Position = 0;
        // A message read whole into memory is counted where it lies, without a copy.
        if (stream is MemoryStream memory && memory.TryGetBuffer(out var whole))
            counter.Add(whole);
        else
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
            int n;
            while (!counter.Done && (n = stream.Read(buffer, 0, 1 << 16)) > 0)
                counter.Add(buffer.AsSpan(0, n));
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        return counter.Finish();
    }

    /// <summary>The offsets in order, each once, in one array.</summary>
    private static long[] SortedDistinct(IEnumerable<long> wanted)
    {
        var all = wanted.ToArray();
        Array.Sort(all);
        var n = 0;
        foreach (var offset in all)
            if (n == 0 || all[n - 1] != offset)
                all[n++] = offset;
        return n == all.Length ? all : all[..n];
    }

    public Region Region(long offset, long end)
    {
        var a = Array.BinarySearch(_offsets, offset);
        var b = Array.BinarySearch(_offsets, end);
        return new Region(offset, end - offset, end - offset + _bare[b] - _bare[a], (int)Math.Min(int.MaxValue, _lfs[b] - _lfs[a]));
    }

    /// <summary>
    /// The counts over consecutive blocks of the file. Each stretch between two offsets is counted
    /// with the vectorized span searches (LFs, and CRLF pairs, whose difference is the bare LFs);
    /// only a pair split between two stretches needs the byte before.
    /// </summary>
    private struct Counter(long[] offsets)
    {
        private readonly long[] _lfs = new long[offsets.Length];
        private readonly long[] _bare = new long[offsets.Length];
        private long _position;
        private long _lf;
        private long _bareLf;
        private byte _previous;
        private int _next;

        public readonly bool Done => _next >= offsets.Length;

        public void Add(ReadOnlySpan<byte> block)
        {
            var at = 0;
            while (_next < offsets.Length && offsets[_next] - _position <= block.Length)
            {
                var end = (int)(offsets[_next] - _position);
                Count(block[at..end]);
                at = end;
                (_lfs[_next], _bare[_next]) = (_lf, _bareLf);
                _next++;
            }
            Count(block[at..]);
            _position += block.Length;
        }

        private void Count(ReadOnlySpan<byte> stretch)
        {
            if (stretch.IsEmpty)
                return;
            var lfs = stretch.Count((byte)'\n');
            if (lfs > 0)
            {
                var pairs = stretch.Count("\r\n"u8);
                if (stretch[0] == (byte)'\n' && _previous == (byte)'\r')
                    pairs++;
                _lf += lfs;
                _bareLf += lfs - pairs;
            }
            _previous = stretch[^1];
        }

        public LineMeasure Finish()
        {
            for (; _next < offsets.Length; _next++)
                (_lfs[_next], _bare[_next]) = (_lf, _bareLf);
            return new LineMeasure(offsets, _lfs, _bare);
        }
    }
}
