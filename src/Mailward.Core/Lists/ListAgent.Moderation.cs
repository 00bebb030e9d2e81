// Moderated lists (docs/lists.md, "Moderation: held posts"): a post from someone who is not a
// moderator is kept in held/ID and sent to the moderators with accept and reject addresses whose
// cookies are HMACs with the list's secret; an accept posts it through the normal fan-out exactly
// once (its fan-out record is looked for by the delivery that brought it), a reject tells the poster.
using System.Globalization;
using System.Text;
using Mailward.Core.Delivery;
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Mailward.Core.Lists;

public sealed partial class ListAgent
{
    private const string HeldMagic = "mailward-list-held 1";

    /// <summary>A held post: the delivery that brought it, its poster, when, its state and its bytes as they arrived.</summary>
    private sealed record HeldPost(string Source, string Sender, long Received, string State, byte[] Post);

    private static string HeldPath(ListFolder list, string id) => Path.Combine(list.PathOf("held"), id);

    /// <summary>held/ID for the post of <paramref name="message"/> recipient <paramref name="index"/>, and the request to the moderators.</summary>
    private async Task<DeliveryResult> HoldAsync(QueuedMessage message, int index, ListFolder list, ListConfig config, byte[] original,
        bool mayBeRepeat, CancellationToken ct)
    {
        var moderators = list.Members(MemberSet.Moderators);
        if (moderators.Count == 0)
            return Refuse(message, list, "5.7.1", $"posts to {list.Address} are moderated and it has no moderators");
        var i = index.ToString(CultureInfo.InvariantCulture);
        // Lower case: a local part's case is not kept on the way back (ListAddress.Parse folds it).
        var id = $"{message.QueueId.ToLowerInvariant()}_{i}";
        using (list.Lock(options.LockWait))
        {
            if (mayBeRepeat && ReadHeld(list, id) is { } earlier && earlier.State != "held")
                return DeliveryResult.Delivered($"held as {id} before and {earlier.State}");
            // A retry finds the same file and writes the same bytes: the post is held once.
            WriteHeld(list, id, new HeldPost($"{message.QueueId}.{i}", message.Envelope.Sender, _time.GetUtcNow().ToUnixTimeSeconds(), "held", original));
            PruneHeld(list);
        }
        var now = _time.GetUtcNow();
        var secret = list.ReadSecret();
        var accept = ModerationAddress(list, secret, "accept", id, now);
        var reject = ModerationAddress(list, secret, "reject", id, now);
        var text = $"""
            A post to {list.Address} from {(message.Envelope.Sender.Length > 0 ? message.Envelope.Sender : "<>")} waits for a moderator; it is attached.

            To post it, reply to this message, or send any message to:
               {accept}
            To refuse it (the poster is told), send any message to:
               {reject}

            These addresses hold for {Math.Round(options.ModerationValid.TotalDays, 1).ToString(CultureInfo.InvariantCulture)} days; a post nobody decides on in that time is dropped.
            """;
        var bytes = ListReplies.Build(hostname, list, moderators, $"MODERATE for {list.Address}", text, now, replyTo: accept, attachments: [original]);
        await using var tx = queue.Begin(new QueueEnvelope($"{list.Name}-return-@{list.Domain}", moderators, "127.0.0.1", hostname, "list"));
        await tx.WriteAsync(bytes, ct);
        var requestId = await tx.CommitAsync(ct);
        Held(_log, message.QueueId, list.Address, id, message.Envelope.Sender, moderators.Count, requestId);
        return DeliveryResult.Delivered($"held as {id} for {moderators.Count} moderators (request {requestId})");
    }

    /// <summary>NAME-accept-ID.TIME.HASH@DOMAIN (or reject).</summary>
    public static string ModerationAddress(ListFolder list, byte[] secret, string action, string id, DateTimeOffset now)
    {
        var t = now.ToUnixTimeSeconds();
        return $"{list.Name}-{action}-{id}.{ListFolder.Number(t)}.{ListCookie.Hash(secret, action, t, id)}@{list.Domain}";
    }

    /// <summary>A message to NAME-accept-… or NAME-reject-…: the cookie checked, then the held post decided once.</summary>
    private async Task<DeliveryResult> ModerateAsync(QueuedMessage message, ListFolder list, ListConfig config, bool accept, string argument, CancellationToken ct)
    {
        var action = accept ? "accept" : "reject";
        var parts = argument.Split('.');
        var why = parts.Length != 3 || !IsHeldId(parts[0]) ? "not ID.TIME.HASH"
            : ListCookie.Check(list.ReadSecret(), action, parts[1], parts[2], parts[0], _time.GetUtcNow(), options.ModerationValid);
        if (why is not null)
        {
            ModerationRefused(_log, message.QueueId, list.Address, message.Envelope.Sender, action, why);
            return DeliveryResult.Delivered($"{action} refused: {why}");
        }
        var id = parts[0];
        using (list.Lock(options.LockWait))
        {
            var held = ReadHeld(list, id);
            if (held is null)
                return DeliveryResult.Delivered($"no held post {id} (expired or removed)");
            if (held.State != "held")
                return DeliveryResult.Delivered($"held post {id} was {held.State} before");
            DeliveryResult result;
            if (accept)
            {
                MimeMessage post;
                try
                {
                    post = MimeMessage.Load(new MemoryStream(held.Post), ct);
                }
                catch (FormatException e)
                {
                    throw new ListDamagedException(HeldPath(list, id), "the held post cannot be read: " + e.Message);
                }
                // The repeat check is always made: an accept retried after a crash, or a second accept, finds the fan-out.
                var rewriteFrom = await RewritesFromAsync(config, post, ct);
                result = await FanOutAsync(message.QueueId, list, config, held.Source, held.Sender, held.Post, post, rewriteFrom, repeatCheck: true, ct);
                if (result.Status != DeliveryStatus.Delivered)
                    return result;
                await LookAtDigestAsync(list, config, ct);
            }
            else if (held.Sender.Length > 0)
            {
                var notice = ListReplies.Build(hostname, list, [held.Sender], $"your post to {list.Address} was not accepted",
                    $"The moderators of {list.Address} did not accept your post; it is attached.\n", _time.GetUtcNow(), attachments: [held.Post]);
                await using var tx = queue.Begin(new QueueEnvelope($"{list.Name}-return-@{list.Domain}", [held.Sender], "127.0.0.1", hostname, "list"));
                await tx.WriteAsync(notice, ct);
                result = DeliveryResult.Delivered($"rejected; the poster told as {await tx.CommitAsync(ct)}");
            }
            else
                result = DeliveryResult.Delivered("rejected; the null sender is not told");
            WriteHeld(list, id, held with { State = accept ? "accepted" : "rejected" });
            if (accept)
                Accepted(_log, message.QueueId, list.Address, id, result.Detail);
            else
                Rejected(_log, message.QueueId, list.Address, id, held.Sender);
            return result with { Detail = $"held post {id} {action}ed: {result.Detail}" };
        }
    }

    private static bool IsHeldId(string id)
    {
        var u = id.IndexOf('_');
        return u > 0 && u < id.Length - 1 && id[..u].All(char.IsAsciiHexDigit) && id[(u + 1)..].All(char.IsAsciiDigit);
    }

    private static void WriteHeld(ListFolder list, string id, HeldPost held)
    {
        Directory.CreateDirectory(list.PathOf("held"));
        var head = $"{HeldMagic}\nsource: {held.Source}\nsender: {held.Sender}\nreceived: {ListFolder.Number(held.Received)}\n" +
            $"state: {held.State}\nlength: {ListFolder.Number(held.Post.Length)}\n\n";
        ListFile.Write(HeldPath(list, id), [.. Encoding.UTF8.GetBytes(head), .. held.Post]);
    }

    /// <summary>held/ID as written; null when there is none.</summary>
    private static HeldPost? ReadHeld(ListFolder list, string id)
    {
        var path = HeldPath(list, id);
        var content = ListFile.ReadRaw(path);
        if (content is null)
            return null;
        var end = content.AsSpan().IndexOf("\n\n"u8);
        var lines = (end < 0 ? "" : Encoding.UTF8.GetString(content, 0, end)).Split('\n');
        if (lines.Length != 6 || lines[0] != HeldMagic)
            throw new ListDamagedException(path, "not a held post");
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines[1..])
        {
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon <= 0)
                throw new ListDamagedException(path, "not \"key: value\": " + line);
            fields[line[..colon]] = line[(colon + 2)..];
        }
        if (!fields.TryGetValue("source", out var source) || !fields.TryGetValue("sender", out var sender)
            || !fields.TryGetValue("state", out var state) || state is not ("held" or "accepted" or "rejected")
            || !long.TryParse(fields.GetValueOrDefault("received"), NumberStyles.None, CultureInfo.InvariantCulture, out var received)
            || !long.TryParse(fields.GetValueOrDefault("length"), NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            || end + 2 + length != content.Length)
            throw new ListDamagedException(path, "not source, sender, received, state and a post of its stated length");
        return new HeldPost(source, sender, received, state, content[(end + 2)..]);
    }

    /// <summary>Held files untouched for Lists:ModerationHours: every cookie of theirs has expired.</summary>
    private void PruneHeld(ListFolder list)
    {
        var limit = (_time.GetUtcNow() - options.ModerationValid).UtcDateTime;
        foreach (var file in Directory.GetFiles(list.PathOf("held")))
            if (File.GetLastWriteTimeUtc(file) < limit)
                File.Delete(file);
    }

    [LoggerMessage(EventId = 3211, Level = LogLevel.Information, Message = "list post held id={QueueId} list=<{List}> held={HeldId} from=<{Sender}> moderators={Moderators} request={RequestId}")]
    private static partial void Held(ILogger logger, string queueId, string list, string heldId, string sender, int moderators, string requestId);

    [LoggerMessage(EventId = 3212, Level = LogLevel.Information, Message = "list held post accepted id={QueueId} list=<{List}> held={HeldId} result={Result}")]
    private static partial void Accepted(ILogger logger, string queueId, string list, string heldId, string result);

    [LoggerMessage(EventId = 3213, Level = LogLevel.Information, Message = "list held post rejected id={QueueId} list=<{List}> held={HeldId} poster=<{Sender}>")]
    private static partial void Rejected(ILogger logger, string queueId, string list, string heldId, string sender);

    [LoggerMessage(EventId = 3214, Level = LogLevel.Warning, Message = "list moderation refused id={QueueId} list=<{List}> from=<{Sender}> action={Action} reason={Reason}")]
    private static partial void ModerationRefused(ILogger logger, string queueId, string list, string sender, string action, string reason);
}
