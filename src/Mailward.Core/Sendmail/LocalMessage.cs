// What qmail-inject did for a message from a local program: reads its header (RFC 5322 §2.2: a
// field per line, folded lines continue it), takes the recipients from To, Cc and Bcc for -t,
// removes Bcc (RFC 5322 §3.6.3), adds Date, Message-ID and From when missing (§3.6: Date and From
// are required) and makes every line end CRLF. Pure: bytes in, bytes out.
using System.Globalization;
using System.Text;
using MimeKit;

namespace Mailward.Core.Sendmail;

public sealed class LocalMessage
{
    // A header sendmail cannot read is refused (exit 65), not guessed at; bare names get the default domain later.
    private static readonly ParserOptions StrictAddresses = new() { AddressParserComplianceMode = RfcComplianceMode.Strict, AllowAddressesWithoutDomain = true };

    private readonly List<(string Name, List<string> Lines)> _fields = [];
    private readonly List<string> _body = [];

    /// <summary>Header fields as written (name and raw lines), in order.</summary>
    public IReadOnlyList<(string Name, List<string> Lines)> Fields => _fields;

    private LocalMessage()
    {
    }

    /// <summary>Splits the bytes read into header fields and body lines (any of LF or CRLF).</summary>
    public static LocalMessage Parse(ReadOnlySpan<byte> input)
    {
        var m = new LocalMessage();
        var text = Encoding.Latin1.GetString(input); // one char per octet: 8-bit bodies pass unchanged
        var lines = text.Split('\n');
        var count = lines.Length;
        if (count > 0 && lines[^1].Length == 0)
            count--; // the final line end
        var i = 0;
        // An mbox "From " line first is not part of the message (sendmail drops it too).
        if (count > 0 && lines[0].StartsWith("From ", StringComparison.Ordinal))
            i++;
        for (; i < count; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.Length == 0)
            {
                i++; // the blank line that ends the header
                break;
            }
            if (line[0] is ' ' or '\t' && m._fields.Count > 0)
            {
                m._fields[^1].Lines.Add(line);
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !line.AsSpan(0, colon).ContainsOnlyFieldNameChars())
                break; // not a field: the header ended without a blank line, the rest is body
            m._fields.Add((line[..colon].Trim(), [line]));
        }
        for (; i < count; i++)
            m._body.Add(lines[i].TrimEnd('\r'));
        return m;
    }

    public bool Has(string name) => _fields.Any(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Addresses of every To, Cc and Bcc field (group members included); false when one cannot be read.</summary>
    public bool TryHeaderRecipients(out List<string> recipients, out string error)
    {
        recipients = [];
        error = "";
        foreach (var (name, lines) in _fields)
        {
            if (!name.Equals("To", StringComparison.OrdinalIgnoreCase) && !name.Equals("Cc", StringComparison.OrdinalIgnoreCase)
                && !name.Equals("Bcc", StringComparison.OrdinalIgnoreCase))
                continue;
            var value = string.Concat(lines)[(lines[0].IndexOf(':', StringComparison.Ordinal) + 1)..];
            if (value.Trim().Length == 0)
                continue; // "Bcc:" alone names no one (RFC 5322 §3.6.3)
            if (!InternetAddressList.TryParse(StrictAddresses, value, out var list))
            {
                error = $"cannot read the {name}: field";
                return false;
            }
            recipients.AddRange(list.Mailboxes.Select(mb => mb.Address));
        }
        return true;
    }

    /// <summary>The message as queued: Bcc removed, missing fields added at the header's end, CRLF line ends.</summary>
    public byte[] Render(string id, string hostname, DateTimeOffset created, string from, string fullName)
    {
        var sb = new StringBuilder();
        foreach (var (name, lines) in _fields)
        {
            if (name.Equals("Bcc", StringComparison.OrdinalIgnoreCase))
                continue;
            foreach (var line in lines)
                sb.Append(line).Append("\r\n");
        }
        if (!Has("From"))
        {
            var mailbox = fullName.Length > 0 ? new MailboxAddress(fullName, from) : new MailboxAddress("", from);
            sb.Append("From: ").Append(mailbox.ToString(FormatOptions.Default, encode: true)).Append("\r\n");
        }
        if (!Has("Date"))
            sb.Append("Date: ").Append(Rfc5322Date(created)).Append("\r\n");
        if (!Has("Message-ID"))
            sb.Append("Message-ID: <").Append(id).Append('@').Append(hostname).Append(">\r\n");
        sb.Append("\r\n");
        foreach (var line in _body)
            sb.Append(line).Append("\r\n");
        return Encoding.Latin1.GetBytes(sb.ToString());
    }

    public static string Rfc5322Date(DateTimeOffset t) =>
        t.ToUniversalTime().ToString("ddd, dd MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " +0000";
}

internal static class FieldNames
{
    /// <summary>RFC 5322 §3.6.8: printable US-ASCII except colon and space.</summary>
    public static bool ContainsOnlyFieldNameChars(this ReadOnlySpan<char> name)
    {
        foreach (var c in name)
            if (c is < '!' or > '~')
                return false;
        return true;
    }
}
