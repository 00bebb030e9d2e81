// The texts a list answers commands with (docs/lists.md, "The command addresses"): the
// confirmation requests of the sc./uc. handshake, welcome, goodbye, help and info, as MIME built
// by MimeKit from NAME-help@DOMAIN (archived posts attached as message/rfc822 for -get.N and -get.N_M) with Auto-Submitted: auto-replied (RFC 3834 §5).
using System.Text;
using MimeKit;
using MimeKit.Utils;

namespace Mailward.Core.Lists;

public static class ListReplies
{
    public static string Help(ListFolder list, ListConfig config)
    {
        var d = list.Domain;
        var n = list.Name;
        return $"""
            This is the {n}@{d} mailing list{(config.Name.Length > 0 ? $" ({config.Name})" : "")}.

            To subscribe, send a message to:
               {n}-subscribe@{d}
            To unsubscribe:
               {n}-unsubscribe@{d}
            For this help:
               {n}-help@{d}
            To reach the people who run the list:
               {n}-owner@{d}
            For post N of the archive, or posts N to M:
               {n}-get.N@{d}, {n}-get.N_M@{d}
            For an index of the last posts (or of posts N to M):
               {n}-index@{d}, {n}-index.N_M@{d}
            For a digest of the posts instead of each one (and to leave it):
               {n}-digest-subscribe@{d}, {n}-digest-unsubscribe@{d}

            Subscribing and unsubscribing are confirmed by a reply to a message the list sends
            to the address in question, so nobody can (un)subscribe an address they cannot read.
            """;
    }

    public static string Info(ListFolder list, ListConfig config, int subscribers) =>
        $"""
        List: {list.Address}{(config.Name.Length > 0 ? $" ({config.Name})" : "")}
        Posting: {config.Policy switch
        {
            PostingPolicy.Open => "anyone may post",
            PostingPolicy.Subscribers => "subscribers may post",
            PostingPolicy.Moderated => "posts are moderated",
            _ => "announcements only",
        }}
        Subscribers: {subscribers}

        """ + Help(list, config);

    public static string ConfirmRequest(ListFolder list, string action, string address, string confirmAddress, TimeSpan valid)
    {
        var verb = action == "sc" ? "subscribe" : "unsubscribe";
        var to = action == "sc" ? "to" : "from";
        return $"""
            Someone, perhaps you, asked to {verb} the address
               {address}
            {to} the {list.Address} mailing list.

            To confirm, reply to this message, or send any message to:
               {confirmAddress}

            This confirmation holds for {Math.Round(valid.TotalDays, 1).ToString(System.Globalization.CultureInfo.InvariantCulture)} days. If you did not ask for this, ignore this
            message: nothing changes without the reply.
            """;
    }

    public static string Welcome(ListFolder list, ListConfig config, string address) =>
        $"Welcome to {list.Address}: {address} is now subscribed.\n\n" + Help(list, config);

    public static string Goodbye(ListFolder list, string address) =>
        $"{address} is no longer subscribed to {list.Address}; the list sends it nothing more.\n";

    public static string Refused(ListFolder list, ListConfig config, string why) =>
        $"The list could not do what you asked: {why}.\n\n" + Help(list, config);

    /// <summary>An answer from NAME-help@DOMAIN; <paramref name="replyTo"/> set for a confirmation request.</summary>
    public static byte[] Build(string hostname, ListFolder list, string to, string subject, string text, DateTimeOffset now,
        string? replyTo = null, string? inReplyTo = null, byte[]? attachment = null) =>
        Build(hostname, list, [to], subject, text, now, replyTo, inReplyTo, attachment is null ? null : [attachment]);

    /// <summary>The same to several addresses (a moderation request to the moderators), with any number of posts attached (-get.N_M).</summary>
    public static byte[] Build(string hostname, ListFolder list, IReadOnlyList<string> to, string subject, string text, DateTimeOffset now,
        string? replyTo = null, string? inReplyTo = null, IReadOnlyList<byte[]>? attachments = null)
    {
        var m = new MimeMessage();
        m.From.Add(new MailboxAddress("", $"{list.Name}-help@{list.Domain}"));
        foreach (var address in to)
            m.To.Add(new MailboxAddress("", address));
        if (replyTo is not null)
            m.ReplyTo.Add(new MailboxAddress("", replyTo));
        m.Subject = subject;
        m.Date = now;
        m.MessageId = MimeUtils.GenerateMessageId(hostname);
        if (inReplyTo is { Length: > 0 })
            m.InReplyTo = inReplyTo;
        m.Headers.Add("Auto-Submitted", "auto-replied");
        m.Headers.Add("List-Id", ListCopyBuilder.ListId(list, null));
        var part = new TextPart("plain");
        part.SetText(Encoding.UTF8, text.ReplaceLineEndings("\n"));
        part.ContentTransferEncoding = text.Any(c => c > 126) ? ContentEncoding.QuotedPrintable : ContentEncoding.SevenBit;
        if (attachments is not { Count: > 0 })
            m.Body = part;
        else
        {
            var mixed = new Multipart("mixed") { part };
            foreach (var a in attachments)
                mixed.Add(new MessagePart { Message = MimeMessage.Load(new MemoryStream(a)) });
            m.Body = mixed;
        }
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var output = new MemoryStream();
        m.WriteTo(options, output);
        return output.ToArray();
    }
}
