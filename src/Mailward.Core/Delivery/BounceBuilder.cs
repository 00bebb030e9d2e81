// Builds the delivery status notification for failed recipients (RFC 3464 multipart/report,
// RFC 6522): a human-readable part in the spirit of qmail's QSBMF, the machine-readable
// message/delivery-status, and the original message's headers (text/rfc822-headers), at most
// Delivery:BounceHeaderBytes of them, so a bounce to a forged sender carries little of a stranger's text.
using System.Text;
using Mailward.Core.Queue;
using MimeKit;

namespace Mailward.Core.Delivery;

public sealed record FailedRecipient(string Address, RecipientReport Report);

public static class BounceBuilder
{
    /// <summary>The envelope sender of a double bounce (qmail's #@[]): never bounced again, sent as MAIL FROM:&lt;&gt;.</summary>
    public const string DoubleBounceSender = "#@[]";

    /// <summary>
    /// The DSN as bytes with CRLF line ends, ready for the queue. <paramref name="originalBody"/> is
    /// read only up to the end of its header, and at most <paramref name="maxHeaderBytes"/> of it.
    /// </summary>
    public static byte[] Build(string hostname, string originalSender, string queueId, DateTimeOffset arrived,
        IReadOnlyList<FailedRecipient> failed, Stream originalBody, bool doubleBounce, DateTimeOffset now, int maxHeaderBytes = 4096)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", $"MAILER-DAEMON@{hostname}"));
        message.To.Add(MailboxAddress.Parse(ParserOptions.Default, doubleBounce ? "postmaster@" + hostname : originalSender));
        message.Subject = doubleBounce ? "failure notice (double bounce)" : "failure notice";
        message.Date = now;
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(hostname);
        message.Headers.Add("Auto-Submitted", "auto-replied"); // RFC 3834 §5: no automatic reply to this

        var report = new MultipartReport("delivery-status");
        report.Add(new TextPart("plain") { Text = HumanText(hostname, originalSender, failed, doubleBounce) });

        var status = new MessageDeliveryStatus();
        var perMessage = new HeaderList
        {
            { "Reporting-MTA", "dns; " + hostname },
            { "X-Mailward-Queue-ID", queueId },
            { "Arrival-Date", MimeKit.Utils.DateUtils.FormatDate(arrived) },
        };
        status.StatusGroups.Add(perMessage);
        foreach (var f in failed)
        {
            var group = new HeaderList
            {
                { "Final-Recipient", "rfc822; " + f.Address },
                { "Action", "failed" },
                { "Status", f.Report.Code.Length > 0 ? f.Report.Code : LegacyStatus },
            };
            // RFC 3464 §2.3.5, §2.3.6: the remote MTA and its reply as given; otherwise our own reason.
            if (f.Report.RemoteMta.Length > 0)
            {
                group.Add("Remote-MTA", "dns; " + f.Report.RemoteMta);
                group.Add("Diagnostic-Code", "smtp; " + f.Report.RemoteReply);
            }
            else
                group.Add("Diagnostic-Code", "X-Mailward; " + f.Report.Reason);
            status.StatusGroups.Add(group);
        }
        report.Add(status);

        var headers = new TextRfc822Headers { Message = OriginalHeaders(originalBody, maxHeaderBytes) };
        report.Add(headers);
        message.Body = report;

        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var output = new MemoryStream();
        message.WriteTo(options, output);
        return output.ToArray();
    }

    private static string HumanText(string hostname, string sender, IReadOnlyList<FailedRecipient> failed, bool doubleBounce)
    {
        var sb = new StringBuilder();
        sb.Append($"Hi. This is the Mailward delivery program at {hostname}.\n");
        if (doubleBounce)
            sb.Append($"I tried to deliver a bounce message to <{sender}>, but the bounce bounced!\n");
        else
            sb.Append("I'm afraid I wasn't able to deliver your message to the following addresses.\n")
              .Append("This is a permanent error; I've given up. Sorry it didn't work out.\n");
        foreach (var f in failed)
            sb.Append($"\n<{f.Address}>:\n{f.Report.Reason}\n");
        sb.Append("\n--- The headers of the original message are attached below.\n");
        return sb.ToString();
    }

    /// <summary>The status of a failure recorded before records carried codes: RFC 3463's "permanent, undefined".</summary>
    private const string LegacyStatus = "5.0.0";

    /// <summary>The original header up to its end or <paramref name="max"/> bytes, whichever is first, cut after a whole line.</summary>
    private static MimeMessage OriginalHeaders(Stream body, int max)
    {
        var buffer = new byte[max + 2];
        var n = body.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        var end = buffer.AsSpan(0, n).IndexOf("\r\n\r\n"u8);
        var lastLine = buffer.AsSpan(0, Math.Min(n, max)).LastIndexOf("\r\n"u8);
        var length = end >= 0 && end + 2 <= max ? end + 2 : lastLine < 0 ? 0 : lastLine + 2;
        using var headerStream = new MemoryStream();
        headerStream.Write(buffer, 0, length);
        headerStream.Write("\r\n"u8); // the header alone, with an empty body
        headerStream.Position = 0;
        try
        {
            return MimeMessage.Load(headerStream);
        }
        catch (FormatException)
        {
            return new MimeMessage();
        }
    }
}
