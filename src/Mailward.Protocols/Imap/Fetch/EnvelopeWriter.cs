// FETCH ENVELOPE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from a cached MessageStructure: date, subject,
// from, sender, reply-to, to, cc, bcc, in-reply-to, message-id. Header values are sent as found,
// encoded words included (Dovecot does the same; decoding is the client's, RFC 2047 §1); the
// subject and names with whitespace runs made one space (ImapStrings.ForHumans); groups
// are a start marker (NIL NIL "name" NIL) and an end marker (NIL NIL NIL NIL).
using System.Buffers;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Protocols.Imap.Fetch;

public static class EnvelopeWriter
{
    /// <summary>The ENVELOPE of the message: "(date subject ... message-id)".</summary>
    public static byte[] Envelope(MessageStructure s) => ImapStrings.Render(w => Write(w, s.Root.Envelope ?? Empty));

    private static readonly Envelope Empty = new(null, null, null, null, null, null, null, null, null, null);

    public static void Write(IBufferWriter<byte> w, Envelope e)
    {
        ImapStrings.Ascii(w, "(");
        ImapStrings.NStringNoLf(w, e.Date);
        ImapStrings.Ascii(w, " ");
        ImapStrings.ForHumans(w, e.Subject);
        foreach (var list in new[] { e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc })
        {
            ImapStrings.Ascii(w, " ");
            Addresses(w, list);
        }
        ImapStrings.Ascii(w, " ");
        ImapStrings.NStringNoLf(w, e.InReplyTo);
        ImapStrings.Ascii(w, " ");
        ImapStrings.NStringNoLf(w, e.MessageId);
        ImapStrings.Ascii(w, ")");
    }

    private static void Addresses(IBufferWriter<byte> w, IReadOnlyList<EnvelopeAddress>? list)
    {
        if (list is null || list.Count == 0)
        {
            ImapStrings.Nil(w);
            return;
        }
        ImapStrings.Ascii(w, "(");
        foreach (var a in list)
        {
            ImapStrings.Ascii(w, "(");
            ImapStrings.ForHumans(w, a.Name);
            ImapStrings.Ascii(w, " ");
            ImapStrings.NString(w, a.Route);
            ImapStrings.Ascii(w, " ");
            ImapStrings.NString(w, a.Mailbox);
            ImapStrings.Ascii(w, " ");
            ImapStrings.NString(w, a.Host);
            ImapStrings.Ascii(w, ")");
        }
        ImapStrings.Ascii(w, ")");
    }
}
