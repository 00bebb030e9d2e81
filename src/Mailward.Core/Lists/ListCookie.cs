// The confirmation cookies of subscribing and unsubscribing by mail (ezmlm's sc./uc. handshake;
// docs/lists.md, "Cookies"): HMAC-SHA256 with the list's secret over the action, the time and the
// address, the first 10 bytes in hex; valid Lists:ConfirmHours (278 h = ezmlm's 11.6 days).
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Mailward.Core.Lists;

public static class ListCookie
{
    /// <summary>How far in the future a cookie's time may be (clocks of nodes differ a little).</summary>
    public static readonly TimeSpan FutureSkew = TimeSpan.FromHours(1);

    public static string Hash(byte[] secret, string action, long time, string address)
    {
        var mac = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{action}\0{time.ToString(CultureInfo.InvariantCulture)}\0{address.ToLowerInvariant()}"));
        return Convert.ToHexStringLower(mac.AsSpan(0, 10));
    }

    /// <summary>The extension of a confirmation address: sc.TIME.HASH-user=host.</summary>
    public static string Extension(byte[] secret, string action, DateTimeOffset now, string address)
    {
        var t = now.ToUnixTimeSeconds();
        return $"{action}.{t.ToString(CultureInfo.InvariantCulture)}.{Hash(secret, action, t, address)}-{ListAddress.VerpEncode(address)}";
    }

    /// <summary>Null when the cookie holds for this action and address now; else why not.</summary>
    public static string? Check(byte[] secret, string action, string timeText, string hash, string address, DateTimeOffset now, TimeSpan valid)
    {
        if (!long.TryParse(timeText, NumberStyles.None, CultureInfo.InvariantCulture, out var t))
            return "no time in the cookie";
        var expected = Hash(secret, action, t, address);
        if (hash.Length != expected.Length || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hash), Encoding.ASCII.GetBytes(expected)))
            return "the cookie does not match";
        var made = DateTimeOffset.FromUnixTimeSeconds(Math.Min(t, 253402300799));
        if (made > now + FutureSkew)
            return "the cookie's time is in the future";
        if (now - made > valid)
            return "the cookie has expired";
        return null;
    }
}
