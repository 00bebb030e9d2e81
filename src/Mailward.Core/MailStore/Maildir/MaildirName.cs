// The one parser and formatter of Maildir file names (docs/mail-store.md "Maildir file names"):
// BASE[,S=SIZE][,W=VSIZE][,...][:2,FLAGS] with BASE = TIME.UNIQUE.HOST. Reads names written by
// qmail, Courier and Dovecot; writes names whose UNIQUE part carries this node's id.
using System.Security.Cryptography;
using System.Text;

namespace Mailward.Core.MailStore.Maildir;

public readonly struct MaildirName
{
    /// <summary>The whole file name.</summary>
    public string Name { get; }

    /// <summary>The name up to ':' (base and size fields): what stays when flags change or the file moves from new/ to cur/.</summary>
    public string Key { get; }

    /// <summary>TIME: Unix seconds of arrival, when the name starts with digits and a dot.</summary>
    public long? Time => _time >= 0 ? _time : null;

    /// <summary>,S=: bytes on disk (LF line ends).</summary>
    public long? Size => _size >= 0 ? _size : null;

    /// <summary>,W=: bytes with CRLF line ends, as POP3 and IMAP count them.</summary>
    public long? VirtualSize => _virtualSize >= 0 ? _virtualSize : null;

    /// <summary>The info after ':' ("2,FS"), or null for a name without one (new/).</summary>
    public string? Info => Key.Length < Name.Length ? Name[(Key.Length + 1)..] : null;

    /// <summary>The flag letters after ":2," (standard flags upper case, keywords a–z); empty for another or no info.</summary>
    public string Flags { get; }

    // -1 for absent: a listing holds 100,000 of these, so no Nullable<long> padding.
    private readonly long _time, _size, _virtualSize;

    private MaildirName(string name, string key, long time, long size, long virtualSize, string flags)
    {
        Name = name;
        Key = key;
        _time = time;
        _size = size;
        _virtualSize = virtualSize;
        Flags = flags;
    }

    // One string per single flag letter (the common "S"), so a listing does not make one per file.
    private static readonly string[] OneLetter = [.. Enumerable.Range(0, 128).Select(c => ((char)c).ToString())];

    /// <summary>The key of a name (up to its ':'), without parsing the rest: as <c>Parse(name).Key</c>.</summary>
    public static string KeyOf(string name)
    {
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? name : name[..colon];
    }

    public static MaildirName Parse(string name)
    {
        var key = KeyOf(name);
        var colon = key.Length < name.Length ? key.Length : -1;
        var dot = key.IndexOf('.', StringComparison.Ordinal);
        var time = dot > 0 && long.TryParse(key.AsSpan(0, dot), System.Globalization.NumberStyles.None, null, out var t) ? t : -1;
        var flags = "";
        if (colon >= 0 && name.AsSpan(colon + 1).StartsWith("2,", StringComparison.Ordinal))
        {
            var letters = name.Length - colon - 3;
            flags = letters == 0 ? "" : letters == 1 && name[^1] < 128 ? OneLetter[name[^1]] : name[(colon + 3)..];
        }
        return new MaildirName(name, key, time, Field(key, ",S="), Field(key, ",W="), flags);
    }

    /// <summary>A size field of a name; -1 when absent or not a number.</summary>
    private static long Field(string key, string field)
    {
        var at = key.IndexOf(field, StringComparison.Ordinal);
        if (at < 0)
            return -1;
        var digits = key.AsSpan(at + field.Length);
        var end = digits.IndexOfAnyExceptInRange('0', '9');
        return long.TryParse(end < 0 ? digits : digits[..end], System.Globalization.NumberStyles.None, null, out var size) ? size : -1;
    }

    /// <summary>
    /// The POP3 UIDL: the name up to ':' as qmail-pop3d reports it, when it fits RFC 1939 §7 (1–70
    /// characters 0x21–0x7E); otherwise the first 40 hex digits of its SHA-256, equally stable.
    /// </summary>
    public string Pop3Uidl
    {
        get
        {
            if (Key.Length is > 0 and <= 70 && !Key.AsSpan().ContainsAnyExceptInRange('!', '~'))
                return Key;
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Key)))[..40];
        }
    }

    /// <summary>The name with these flags: "KEY:2,FLAGS", the letters in ASCII order; another info is replaced.</summary>
    public string WithFlags(string flags)
    {
        var letters = flags.ToCharArray();
        Array.Sort(letters);
        return Key + ":2," + new string(letters.Distinct().ToArray());
    }

    /// <summary>
    /// TIME.UNIQUE of a delivery: stable for one (message, recipient, target) on one node, so a
    /// repeated attempt after a crash finds its own earlier file and never another node's.
    /// </summary>
    public static string DeliveryBase(DateTimeOffset arrived, string queueId, int recipient, int target, string nodeId) =>
        $"{arrived.ToUnixTimeSeconds()}.M{queueId}R{recipient}T{target}N{EncodeNodeId(nodeId)}";

    /// <summary>TIME.UNIQUE as names were written before node ids: counts as this node's only with this node's HOST.</summary>
    public static string LegacyDeliveryBase(DateTimeOffset arrived, string queueId, int recipient, int target) =>
        $"{arrived.ToUnixTimeSeconds()}.M{queueId}R{recipient}T{target}";

    /// <summary>
    /// TIME.UNIQUE of a bulletin's copy (docs/bulletin-format.md): B + the content digest's first 16
    /// hex digits, U + 8 hex digits of the address's SHA-256, N + the node id; the same on every re-run.
    /// </summary>
    public static string BulletinBase(DateTimeOffset created, string digest16, string address, string nodeId) =>
        $"{created.ToUnixTimeSeconds()}.B{digest16}U{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(address)))[..8]}N{EncodeNodeId(nodeId)}";

    /// <summary>HOST: the host name with '/' and ':' escaped as Dovecot and Courier do.</summary>
    public static string HostPart(string hostname) =>
        hostname.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);

    /// <summary>The name delivery links into new/: BASE.HOST,S=SIZE,W=VSIZE.</summary>
    public static string Delivered(string uniqueBase, string host, long size, long virtualSize) =>
        $"{uniqueBase}.{host},S={size},W={virtualSize}";

    /// <summary>A–Z a–z 0–9 '-' kept; every other UTF-8 byte as '_' and two hex digits: never '.', '/', ':' or ','.</summary>
    public static string EncodeNodeId(string nodeId)
    {
        var sb = new StringBuilder(nodeId.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(nodeId))
        {
            if (b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-')
                sb.Append((char)b);
            else
                sb.Append('_').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
