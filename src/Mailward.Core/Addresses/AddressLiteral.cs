// Parses the address literals of RFC 5321 §4.1.3 strictly: "[192.0.2.1]" (four decimal numbers of
// 0..255) and "[IPv6:2001:db8::1]". The inet_aton forms that IPAddress.Parse also takes ("0x7f.1",
// "127.1", "2130706433", octal "0177.0.0.1") are refused: they hide where the mail would go.
using System.Net;
using System.Net.Sockets;

namespace Mailward.Core.Addresses;

public static class AddressLiteral
{
    /// <summary>The address of "[...]" (brackets included), or false when it is not a strict literal.</summary>
    public static bool TryParse(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Length < 3 || text[0] != '[' || text[^1] != ']')
            return false;
        var inner = text[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
            return TryIPv6(inner[5..], out address);
        return TryIPv4(inner, out address);
    }

    /// <summary>RFC 5321 §4.1.3 IPv4-address-literal: Snum 3("." Snum), Snum = 1*3DIGIT of value 0..255.</summary>
    private static bool TryIPv4(string s, out IPAddress address)
    {
        address = IPAddress.None;
        var parts = s.Split('.');
        if (parts.Length != 4)
            return false;
        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            var p = parts[i];
            if (p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0'))
                return false; // a leading zero reads as octal to inet_aton: refuse the ambiguity
            var v = int.Parse(p, System.Globalization.CultureInfo.InvariantCulture);
            if (v > 255)
                return false;
            bytes[i] = (byte)v;
        }
        address = new IPAddress(bytes);
        return true;
    }

    /// <summary>RFC 5321 §4.1.3 IPv6-addr: hex groups, "::", an optional dotted-quad tail; no zone, no brackets.</summary>
    private static bool TryIPv6(string s, out IPAddress address)
    {
        address = IPAddress.None;
        if (s.Length is 0 or > 45 || !s.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.'))
            return false;
        if (!IPAddress.TryParse(s, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
            return false;
        var lastColon = s.LastIndexOf(':');
        if (s.Contains('.', StringComparison.Ordinal) && !TryIPv4(s[(lastColon + 1)..], out _))
            return false;
        address = parsed;
        return true;
    }
}
