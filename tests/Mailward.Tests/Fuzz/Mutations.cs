// Deterministic mutations of a seed input for the fuzz tests: bit flips, inserted special bytes
// (the ones a protocol's parser treats specially), cuts and duplicated runs.
namespace Mailward.Tests.Fuzz;

public static class Mutations
{
    public static byte[] Mutate(byte[] seed, Random rng, ReadOnlySpan<byte> special)
    {
        var b = new List<byte>(seed);
        for (var n = rng.Next(1, 6); n > 0 && b.Count > 0; n--)
        {
            var i = rng.Next(b.Count);
            switch (rng.Next(5))
            {
                case 0: b[i] ^= (byte)(1 << rng.Next(8)); break;
                case 1: b.Insert(i, special[rng.Next(special.Length)]); break;
                case 2: b.RemoveAt(i); break;
                case 3: b.InsertRange(i, b.GetRange(i, Math.Min(b.Count - i, rng.Next(1, 64)))); break;
                default: b.RemoveRange(i, b.Count - i); break;
            }
        }
        return [.. b];
    }
}
