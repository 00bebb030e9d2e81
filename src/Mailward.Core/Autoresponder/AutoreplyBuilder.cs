// Builds the answer of an autoresponder (RFC 3834 §3.1) as MIME with MimeKit: From the answering
// address, To the original's envelope sender, "Auto: " and the original subject, In-Reply-To and
// References, Auto-Submitted: auto-replied; text/plain in UTF-8 (quoted-printable when not ASCII),
// non-ASCII header text as RFC 2047 encoded words. Bytes with CRLF line ends, ready for the queue.
using System.Text;
using MimeKit;
using MimeKit.Utils;

namespace Mailward.Core.Autoresponder;

public static class AutoreplyBuilder
{
    public const string SubjectPrefix = "Auto: ";

    /// <exception cref="ParseException">An address MimeKit cannot write as a mailbox.</exception>
    public static byte[] Build(string hostname, string fromAddress, string fromName, string to, OriginalHeader original,
        string storedSubject, string text, DateTimeOffset now)
    {
        var reply = new MimeMessage();
        reply.From.Add(new MailboxAddress(fromName, fromAddress)); // §3.1.1
        reply.To.Add(new MailboxAddress("", to)); // §3.1.3: one recipient, the return path (§4)
        // §3.1.5: "Auto:" then the subject of the message answered; ours when it had none.
        var subject = original.Subject?.Trim() is { Length: > 0 } s ? s : storedSubject;
        reply.Subject = SubjectPrefix + subject;
        reply.Date = now;
        reply.MessageId = MimeUtils.GenerateMessageId(hostname);
        // §3.1.6 with RFC 5322 §3.6.4: only when the original has a Message-ID.
        if (original.MessageId is { Length: > 0 } id)
        {
            reply.InReplyTo = id;
            foreach (var r in original.References)
                reply.References.Add(r);
            reply.References.Add(id);
        }
        reply.Headers.Add("Auto-Submitted", "auto-replied"); // §3.1.7, §5.2

        var part = new TextPart("plain");
        part.SetText(Encoding.UTF8, text.ReplaceLineEndings("\n"));
        part.ContentTransferEncoding = NeedsEncoding(text) ? ContentEncoding.QuotedPrintable : ContentEncoding.SevenBit;
        reply.Body = part;

        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var output = new MemoryStream();
        reply.WriteTo(options, output);
        return output.ToArray();
    }

    /// <summary>Non-ASCII text, or a line too long for SMTP's 998 (RFC 5322 §2.1.1): quoted-printable.</summary>
    private static bool NeedsEncoding(string text) =>
        text.Any(c => c > 126 || (c < 32 && c is not '\n' and not '\r' and not '\t')) || text.ReplaceLineEndings("\n").Split('\n').Any(l => l.Length > 900);
}
