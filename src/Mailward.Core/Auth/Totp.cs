// TOTP (RFC 6238) with the defaults every authenticator app uses: HMAC-SHA1 (RFC 4226 section 5.3's
// dynamic truncation), 6 digits, 30-second steps from the Unix epoch, secrets in base32 (RFC 4648
// section 6) and the otpauth:// URI the apps scan. A few lines over the BCL's HMACSHA1, so no
// package to trust for the second factor of the admin logins.
using System.Security.Cryptography;
using System.Text;

namespace Mailward.Core.Auth;

public static class Totp
{
    public const int Digits = 6;
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(30);

    /// <summary>A new 160-bit secret (RFC 4226 section 4 recommends 160 bits), base32.</summary>
    public static string NewSecret() => Base32(RandomNumberGenerator.GetBytes(20));

    /// <summary>The time step of an instant (RFC 6238 section 4.2: T = floor((now - T0) / X)).</summary>
    public static long StepOf(DateTimeOffset at) => at.ToUnixTimeSeconds() / (long)Step.TotalSeconds;

    /// <summary>The code of one time step (RFC 4226 section 5.3).</summary>
    public static string Code(string secret, long step)
    {
        Span<byte> counter = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(counter, step);
        // RFC 6238 with SHA-1 is what every authenticator app computes; as a keyed PRF HMAC-SHA1 is not weakened by SHA-1's collisions.
#pragma warning disable CA5350
        var mac = HMACSHA1.HashData(FromBase32(secret), counter);
#pragma warning restore CA5350
        var offset = mac[^1] & 0x0f;
        var binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
        return (binary % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The step whose code <paramref name="code"/> is, within <paramref name="skew"/> steps of
    /// <paramref name="now"/> either way (RFC 6238 section 5.2: clocks drift), or null.
    /// </summary>
    public static long? Match(string secret, string code, DateTimeOffset now, int skew)
    {
        code = code.Trim().Replace(" ", "", StringComparison.Ordinal);
        if (code.Length != Digits || !code.All(char.IsAsciiDigit))
            return null;
        var at = StepOf(now);
        long? found = null;
        // Every candidate is computed and compared in constant time: no timing tells which step matched.
        for (var s = at - skew; s <= at + skew; s++)
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Code(secret, s)), Encoding.ASCII.GetBytes(code)))
                found ??= s;
        return found;
    }

    /// <summary>The key URI authenticator apps take (Google Authenticator's "Key Uri Format").</summary>
    public static string Uri(string issuer, string account, string secret) =>
        $"otpauth://totp/{System.Uri.EscapeDataString(issuer)}:{System.Uri.EscapeDataString(account)}" +
        $"?secret={secret}&issuer={System.Uri.EscapeDataString(issuer)}&algorithm=SHA1&digits={Digits}&period={(int)Step.TotalSeconds}";

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    public static string Base32(ReadOnlySpan<byte> data)
    {
        var sb = new StringBuilder((data.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                sb.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0)
            sb.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        return sb.ToString();
    }

    public static byte[] FromBase32(string text)
    {
        var bytes = new List<byte>(text.Length * 5 / 8);
        int buffer = 0, bits = 0;
        foreach (var ch in text.TrimEnd('=').ToUpperInvariant())
        {
            var v = Alphabet.IndexOf(ch, StringComparison.Ordinal);
            if (v < 0)
                throw new FormatException($"not base32: '{ch}'");
            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }
        return [.. bytes];
    }
}
