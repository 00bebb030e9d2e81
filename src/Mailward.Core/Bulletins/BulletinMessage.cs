// The message file of a bulletin (docs/bulletin-format.md, "The copy each user gets"): read once,
// bounded by Smtp:MaxMessageBytes, identified by its SHA-256, and the header lines each copy gets
// before it: Delivered-To, and To, Date and Message-ID where the file has none (RFC 5322 §3.6).
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Accounts;

namespace Mailward.Core.Bulletins;

public sealed class BulletinMessage
{
    private BulletinMessage(byte[] body, string digest, bool hasTo, bool hasDate, bool hasMessageId)
    {
        Body = body;
        Digest = digest;
        HasTo = hasTo;
        HasDate = hasDate;
        HasMessageId = hasMessageId;
    }

    /// <summary>The file's bytes as given.</summary>
    public byte[] Body { get; }

    /// <summary>SHA-256 of the file, 64 lower-case hex digits: the bulletin's identity.</summary>
    public string Digest { get; }

    public bool HasTo { get; }
    public bool HasDate { get; }
    public bool HasMessageId { get; }

    /// <summary>Reads and checks the file: not empty, at most <paramref name="maxBytes"/>, starting with a header field.</summary>
    public static BulletinMessage Load(string path, long maxBytes)
    {
        FileInfo info;
        try
        {
            info = new FileInfo(path);
            if (!info.Exists)
                throw new AccountException(AccountError.InvalidArgument, $"no such message file: {path}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AccountException(AccountError.InvalidArgument, $"cannot read the message file {path}: {e.Message}");
        }
        if (info.Length == 0)
            throw new AccountException(AccountError.InvalidArgument, $"the message file {path} is empty");
        if (info.Length > maxBytes)
            throw new AccountException(AccountError.InvalidArgument, $"the message file {path} is larger than Smtp:MaxMessageBytes ({maxBytes} bytes)");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AccountException(AccountError.InvalidArgument, $"cannot read the message file {path}: {e.Message}");
        }
        return FromBytes(bytes, path);
    }

    public static BulletinMessage FromBytes(byte[] bytes, string name = "the message")
    {
        var fields = HeaderFieldNames(bytes);
        if (fields.Count == 0)
            throw new AccountException(AccountError.InvalidArgument, $"{name} does not start with a header field (From:, Subject:, ...)");
        return new BulletinMessage(bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)),
            fields.Contains("to"), fields.Contains("date"), fields.Contains("message-id"));
    }

    /// <summary>The lower-cased names of the header's fields (RFC 5322 §2.2: name ":" ...; folded lines start with white space).</summary>
    private static HashSet<string> HeaderFieldNames(byte[] bytes)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var at = 0;
        while (at < bytes.Length)
        {
            var nl = Array.IndexOf(bytes, (byte)'\n', at);
            var end = nl < 0 ? bytes.Length : nl;
            var line = bytes.AsSpan(at, end - at);
            if (line.Length > 0 && line[^1] == (byte)'\r')
                line = line[..^1];
            if (line.Length == 0)
                break; // the blank line that ends the header
            if (line[0] is not ((byte)' ' or (byte)'\t'))
            {
                var colon = line.IndexOf((byte)':');
                if (colon <= 0 || line[..colon].ContainsAnyExceptInRange((byte)'!', (byte)'~'))
                    break; // not a field: the header ended without a blank line (or never began)
                names.Add(Encoding.ASCII.GetString(line[..colon]).ToLowerInvariant());
            }
            else if (names.Count == 0)
                break;
            at = end + 1;
        }
        return names;
    }

    /// <summary>The header lines (LF) the copy for <paramref name="address"/> gets before the file's own.</summary>
    public byte[] HeaderFor(string address, DateTimeOffset created, string hostname)
    {
        var sb = new StringBuilder(256);
        sb.Append("Delivered-To: ").Append(address).Append('\n');
        if (!HasTo)
            sb.Append("To: ").Append(address).Append('\n');
        if (!HasDate)
            sb.Append("Date: ").Append(created.ToUniversalTime().ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture)).Append('\n');
        if (!HasMessageId)
            sb.Append("Message-ID: <").Append(created.ToUnixTimeSeconds()).Append('.').Append(Digest[..16]).Append(".bulletin@").Append(hostname).Append(">\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
