// The fields of a message being answered that the RFC 3834 rules and the reply need, read from at
// most a bounded prefix of its header (Autoresponder:HeaderBytes) with MimeKit's parser.
using MimeKit;

namespace Mailward.Core.Autoresponder;

public sealed record OriginalHeader(
    IReadOnlyList<string> AutoSubmitted,
    IReadOnlyList<string> Precedence,
    bool HasListField,
    IReadOnlyList<string> ToAndCc,
    string? Subject,
    string? MessageId,
    IReadOnlyList<string> References)
{
    /// <summary>Reads the header of <paramref name="body"/> (from its position) up to its end or <paramref name="maxBytes"/>, cut after a whole line.</summary>
    public static OriginalHeader Read(Stream body, int maxBytes)
    {
        var buffer = new byte[maxBytes + 2];
        var n = body.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        var span = buffer.AsSpan(0, n);
        var end = span.IndexOf("\r\n\r\n"u8);
        var lastLine = span[..Math.Min(n, maxBytes)].LastIndexOf("\r\n"u8);
        var length = end >= 0 && end + 2 <= maxBytes ? end + 2 : lastLine < 0 ? 0 : lastLine + 2;
        using var header = new MemoryStream(length + 2);
        header.Write(buffer, 0, length);
        header.Write("\r\n"u8);
        header.Position = 0;
        MimeMessage m;
        try
        {
            m = MimeMessage.Load(header);
        }
        catch (FormatException)
        {
            m = new MimeMessage();
        }
        return new OriginalHeader(
            Values(m, "Auto-Submitted"),
            Values(m, "Precedence"),
            m.Headers.Any(h => h.Field.StartsWith("List-", StringComparison.OrdinalIgnoreCase)),
            m.To.Mailboxes.Concat(m.Cc.Mailboxes).Select(b => b.Address).ToList(),
            m.Subject,
            m.MessageId,
            m.References.ToList());
    }

    private static List<string> Values(MimeMessage m, string field) =>
        m.Headers.Where(h => h.Field.Equals(field, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value.Trim()).ToList();
}
