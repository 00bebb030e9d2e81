// LineMeasure's vectorized counts against a byte-by-byte count: bare LFs, CRLF pairs split across
// the 64 KiB read blocks and across the offsets asked for, from a stream read in blocks and from a
// buffer counted where it lies.
using Mailward.Core.MailStore.Structure;

namespace Mailward.Tests.Imap;

public class LineMeasureTests
{
    private static (long Lfs, long Bare) Naive(byte[] bytes, long end)
    {
        long lfs = 0, bare = 0;
        for (var i = 0; i < Math.Min(end, bytes.Length); i++)
            if (bytes[i] == (byte)'\n')
            {
                lfs++;
                if (i == 0 || bytes[i - 1] != (byte)'\r')
                    bare++;
            }
        return (lfs, bare);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void Counts_match_a_byte_by_byte_count(int seed, bool visibleBuffer)
    {
        var random = new Random(seed);
        // 200 KiB of mostly text with many CR, LF and CRLF, so pairs fall on every kind of boundary.
        var bytes = new byte[200 * 1024 + random.Next(100)];
        for (var i = 0; i < bytes.Length; i++)
            bytes[i] = random.Next(6) switch { 0 => (byte)'\n', 1 => (byte)'\r', _ => (byte)'a' };
        // CRLF pairs right across the first read block's end, both ways.
        (bytes[65535], bytes[65536]) = ((byte)'\r', (byte)'\n');
        var offsets = new List<long> { 0, 1, 65535, 65536, 65537, bytes.Length, bytes.Length + 10 };
        for (var i = 0; i < 300; i++)
            offsets.Add(random.Next(bytes.Length));
        // Offsets between the CR and the LF of a pair.
        for (var i = 1; i < bytes.Length && offsets.Count < 400; i++)
            if (bytes[i - 1] == (byte)'\r' && bytes[i] == (byte)'\n')
                offsets.Add(i);
        using var stream = visibleBuffer ? new MemoryStream(bytes, 0, bytes.Length, false, publiclyVisible: true) : new MemoryStream(bytes);
        var measure = LineMeasure.Measure(stream, offsets);
        var sorted = offsets.Distinct().Order().ToList();
        for (var i = 0; i + 1 < sorted.Count; i++)
        {
            var (a, b) = (sorted[i], sorted[i + 1]);
            var region = measure.Region(a, b);
            var (lfA, bareA) = Naive(bytes, a);
            var (lfB, bareB) = Naive(bytes, b);
            Assert.Equal(lfB - lfA, region.Lines);
            Assert.Equal(b - a + bareB - bareA, region.Size);
        }
    }
}
