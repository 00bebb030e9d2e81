// The mailing list hook of local delivery (docs/lists.md): mail to a list's address is a post
// (ListAgent.Post.cs), mail to one of its command addresses a command: the sc./uc. confirmation
// handshake, help, info, -request, -owner, -get.N, moderators' answers (ListAgent.Moderation.cs), bounces of the copies. Every answer enters the queue
// through QueueStore.Begin, as the autoresponder's does.
using Mailward.Core.Delivery;
using Mailward.Core.Queue;
using Mailward.Core.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;

namespace Mailward.Core.Lists;

public sealed partial class ListAgent(ListDirectory lists, QueueStore queue, string hostname, ListOptions options,
    TimeProvider? time = null, ILogger? log = null, ListDmarcLookup? dmarc = null)
{
    /// <summary>Without a lookup, `from-rewrite: dmarc` rewrites every post (the safe side).</summary>
    private readonly ListDmarcLookup _dmarc = dmarc ?? new ListDmarcLookup(null);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _log = log ?? NullLogger.Instance;

    /// <summary>How many header bytes a command's Subject and Message-ID are read from.</summary>
    private const int CommandHeaderBytes = 65536;

    /// <summary>Delivers recipient <paramref name="index"/> (resolved to list <paramref name="r"/>.Local) of <paramref name="message"/>.</summary>
    public async Task<DeliveryResult> DeliverAsync(QueuedMessage message, int index, string recipient, Resolution r, bool mayBeRepeat, CancellationToken ct)
    {
        var list = lists.Folder(r.Domain!, r.Local!);
        var local = recipient[..recipient.LastIndexOf('@')].ToLowerInvariant();
        var extension = local.Length > list.Name.Length + 1 ? local[(list.Name.Length + 1)..] : "";
        var command = ListAddress.Parse(extension);
        try
        {
            var config = list.ReadConfig();
            if (command.Kind == ListCommandKind.Post)
                return await PostAsync(message, index, list, config, mayBeRepeat, ct);
            return await CommandAsync(message, list, config, command, ct);
        }
        catch (ListDamagedException e)
        {
            Damaged(_log, message.QueueId, list.Address, e.Message);
            return DeliveryResult.Temporary("4.3.0", e.Message);
        }
        catch (TimeoutException e)
        {
            return DeliveryResult.Temporary("4.3.0", e.Message);
        }
    }

    private async Task<DeliveryResult> CommandAsync(QueuedMessage message, ListFolder list, ListConfig config, ListCommand command, CancellationToken ct)
    {
        var sender = message.Envelope.Sender;
        if (command.Kind == ListCommandKind.Return)
            return await BounceAsync(message, list, config, command.Argument, ct);
        var senderLocal = sender.Contains('@') ? sender[..sender.LastIndexOf('@')].ToLowerInvariant() : sender.ToLowerInvariant();
        if (sender.Length == 0 || sender == BounceBuilder.DoubleBounceSender || senderLocal == "mailer-daemon")
            return DeliveryResult.Delivered("a command from a bounce: dropped, never answered");
        await using var body = QueueStore.OpenBody(message);
        var header = Autoresponder.OriginalHeader.Read(body, CommandHeaderBytes);
        var kind = command.Kind;
        var argument = command.Argument;
        if (kind == ListCommandKind.Request)
        {
            // -request: the command is the Subject's first word (ezmlm-request).
            var word = (header.Subject ?? "").Trim().Split(' ', 2)[0].ToLowerInvariant();
            kind = word switch
            {
                "subscribe" => ListCommandKind.Subscribe,
                "unsubscribe" => ListCommandKind.Unsubscribe,
                "info" => ListCommandKind.Info,
                _ => ListCommandKind.Help,
            };
            argument = "";
        }
        var now = _time.GetUtcNow();
        // -digest-...: the same handshake for the digest set, its cookies made over "digest-sc" / "digest-uc".
        var set = command.Digest ? MemberSet.Digest : MemberSet.Subscribers;
        var cookiePrefix = command.Digest ? "digest-" : "";
        var which = command.Digest ? " (digest)" : "";
        switch (kind)
        {
            case ListCommandKind.Subscribe or ListCommandKind.Unsubscribe:
                {
                    var target = argument.Length == 0 ? sender : ListAddress.VerpDecode(argument);
                    if (target is null || !IsAddress(target))
                        return await AnswerAsync(message, list, sender, "bad address", ListReplies.Refused(list, config, "not an address: " + argument), header, ct);
                    target = ListFolder.Normalize(target);
                    if (kind == ListCommandKind.Unsubscribe && !config.ConfirmUnsubscribe)
                        return await ChangeAsync(message, list, config, target, add: false, header, ct, set);
                    var action = kind == ListCommandKind.Subscribe ? "sc" : "uc";
                    var confirm = $"{list.Name}-{ListCookie.Extension(list.ReadSecret(), cookiePrefix + action, now, target)}@{list.Domain}";
                    var subject = $"confirm {(action == "sc" ? "subscribe to" : "unsubscribe from")} {list.Address}{which}";
                    // To the address to be (un)subscribed, never to the sender: a forger gets nothing.
                    return await AnswerAsync(message, list, target, subject,
                        ListReplies.ConfirmRequest(list, action, target, confirm, options.ConfirmValid), header, ct, replyTo: confirm);
                }
            case ListCommandKind.ConfirmSubscribe or ListCommandKind.ConfirmUnsubscribe:
                {
                    var action = kind == ListCommandKind.ConfirmSubscribe ? "sc" : "uc";
                    var target = ListAddress.VerpDecode(argument);
                    var why = target is null || !IsAddress(target) ? "no address in the confirmation"
                        : ListCookie.Check(list.ReadSecret(), cookiePrefix + action, command.Time, command.Hash, ListFolder.Normalize(target), now, options.ConfirmValid);
                    if (why is not null)
                    {
                        BadCookie(_log, message.QueueId, list.Address, sender, why);
                        if (target is null || !IsAddress(target))
                            return DeliveryResult.Delivered("confirmation refused: " + why);
                        // Never acted on: the address gets a new request (ezmlm's answer to a stale cookie).
                        target = ListFolder.Normalize(target);
                        var confirm = $"{list.Name}-{ListCookie.Extension(list.ReadSecret(), cookiePrefix + action, now, target)}@{list.Domain}";
                        var subject = $"confirm {(action == "sc" ? "subscribe to" : "unsubscribe from")} {list.Address}{which}";
                        var result = await AnswerAsync(message, list, target, subject,
                            $"The confirmation you sent did not hold ({why}).\n\n" + ListReplies.ConfirmRequest(list, action, target, confirm, options.ConfirmValid),
                            header, ct, replyTo: confirm);
                        return result with { Detail = "confirmation refused: " + why + "; " + result.Detail };
                    }
                    return await ChangeAsync(message, list, config, ListFolder.Normalize(target!), kind == ListCommandKind.ConfirmSubscribe, header, ct, set);
                }
            case ListCommandKind.Info:
                return await AnswerAsync(message, list, sender, $"information about {list.Address}",
                    ListReplies.Info(list, config, list.Members(MemberSet.Subscribers).Count), header, ct);
            case ListCommandKind.Owner:
                return await ToOwnerAsync(message, list, config, ct);
            case ListCommandKind.Get:
                return await GetAsync(message, list, config, argument, header, ct);
            case ListCommandKind.Index:
                return await IndexAsync(message, list, config, argument, header, ct);
            case ListCommandKind.Accept or ListCommandKind.Reject:
                return await ModerateAsync(message, list, config, kind == ListCommandKind.Accept, argument, ct);
            default:
                return await AnswerAsync(message, list, sender, $"help for {list.Address}", ListReplies.Help(list, config), header, ct);
        }
    }

    /// <summary>A confirmed (un)subscription, or an unconfirmed unsubscription the list allows: the set (subscribers or digest) changes, the address is told.</summary>
    private async Task<DeliveryResult> ChangeAsync(QueuedMessage message, ListFolder list, ListConfig config, string address, bool add,
        Autoresponder.OriginalHeader header, CancellationToken ct, MemberSet set = MemberSet.Subscribers)
    {
        int changed;
        using (list.Lock(options.LockWait))
            changed = list.Change(set, [address], add, options.MaxMembers);
        var which = set == MemberSet.Digest ? " (digest)" : "";
        if (add)
            Subscribed(_log, message.QueueId, list.Address, address, changed > 0);
        else
            Unsubscribed(_log, message.QueueId, list.Address, address, changed > 0);
        var result = add
            ? await AnswerAsync(message, list, address, $"welcome to {list.Address}{which}", ListReplies.Welcome(list, config, address), header, ct)
            : await AnswerAsync(message, list, address, $"goodbye from {list.Address}{which}", ListReplies.Goodbye(list, address), header, ct);
        return result with { Detail = $"{(add ? "subscribed" : "unsubscribed")} <{address}>{which}; " + result.Detail };
    }

    /// <summary>An answer to <paramref name="to"/> through the queue, from the list's return address (its bounces come back and are dropped).</summary>
    private async Task<DeliveryResult> AnswerAsync(QueuedMessage message, ListFolder list, string to, string subject, string text,
        Autoresponder.OriginalHeader header, CancellationToken ct, string? replyTo = null, IReadOnlyList<byte[]>? attachments = null)
    {
        var bytes = ListReplies.Build(hostname, list, [to], subject, text, _time.GetUtcNow(), replyTo, header.MessageId, attachments);
        await using var tx = queue.Begin(new QueueEnvelope($"{list.Name}-return-@{list.Domain}", [to], "127.0.0.1", hostname, "list"));
        await tx.WriteAsync(bytes, ct);
        var id = await tx.CommitAsync(ct);
        Answered(_log, message.QueueId, id, list.Address, to, subject);
        return DeliveryResult.Delivered($"answered <{to}> as {id}");
    }

    /// <summary>-owner: the message as it is to the owner, else to the moderators (same sender).</summary>
    private async Task<DeliveryResult> ToOwnerAsync(QueuedMessage message, ListFolder list, ListConfig config, CancellationToken ct)
    {
        IReadOnlyList<string> to = config.Owner.Length > 0 ? [config.Owner] : list.Members(MemberSet.Moderators);
        if (to.Count == 0)
            return DeliveryResult.Permanent("5.1.1", $"{list.Address} has no owner or moderators to take this");
        await using var tx = queue.Begin(new QueueEnvelope(message.Envelope.Sender, to, "127.0.0.1", hostname, "list"));
        await tx.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"Delivered-To: {list.Name}-owner@{list.Domain}\r\n"), ct);
        await using (var body = QueueStore.OpenBody(message))
            await CopyAsync(body, tx, ct);
        return DeliveryResult.Delivered($"to the owner as {await tx.CommitAsync(ct)}");
    }

    private static async Task CopyAsync(Stream from, QueueTransaction to, CancellationToken ct)
    {
        var buffer = new byte[1 << 16];
        int n;
        while ((n = await from.ReadAsync(buffer, ct)) > 0)
            await to.WriteAsync(buffer.AsMemory(0, n), ct);
    }

    private static bool IsAddress(string text) =>
        text.Length <= 254 && text.IndexOf('@') is > 0 and var at && at < text.Length - 1 && MailboxAddress.TryParse(text, out var m) && m.Address == text;

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "list answer id={QueueId} reply={ReplyId} list=<{List}> to=<{To}> subject={Subject}")]
    private static partial void Answered(ILogger logger, string queueId, string replyId, string list, string to, string subject);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "list subscribed id={QueueId} list=<{List}> address=<{Address}> new={New}")]
    private static partial void Subscribed(ILogger logger, string queueId, string list, string address, bool @new);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Information, Message = "list unsubscribed id={QueueId} list=<{List}> address=<{Address}> was={Was}")]
    private static partial void Unsubscribed(ILogger logger, string queueId, string list, string address, bool was);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Warning, Message = "list confirmation refused id={QueueId} list=<{List}> from=<{Sender}> reason={Reason}")]
    private static partial void BadCookie(ILogger logger, string queueId, string list, string sender, string reason);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Error, Message = "list damaged id={QueueId} list=<{List}> problem={Problem}")]
    private static partial void Damaged(ILogger logger, string queueId, string list, string problem);

    [LoggerMessage(EventId = 3210, Level = LogLevel.Information, Message = "list bounce id={QueueId} list=<{List}> number={Number} subscriber=<{Subscriber}>")]
    private static partial void BounceNoted(ILogger logger, string queueId, string list, string number, string subscriber);
}
