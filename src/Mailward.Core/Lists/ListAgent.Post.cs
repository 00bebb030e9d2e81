// A post to a list (docs/lists.md, "Posting"): the loop guard, the size, the deny set and the
// posting policy; then, under the list's lock, the number, the archive, the fan-out record and
// one queue message that carries the copy to every subscriber with a VERP sender. A retry of the
// same delivery finds its fan-out record and queues nothing twice ("A crash: every subscriber once").
using System.Globalization;
using System.Text;
using Mailward.Core.Delivery;
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Mailward.Core.Lists;

public sealed partial class ListAgent
{
    /// <summary>fanout/N records older than this are removed by a later post: no retry looks further back.</summary>
    private static readonly TimeSpan FanoutKept = TimeSpan.FromDays(7);

    private async Task<DeliveryResult> PostAsync(QueuedMessage message, int index, ListFolder list, ListConfig config, bool mayBeRepeat, CancellationToken ct)
    {
        var sender = message.Envelope.Sender;
        var max = config.MaxBytes > 0 ? config.MaxBytes : options.MaxPostBytes;
        if (message.MessageLength > max)
            return Refuse(message, list, "5.3.4", $"the post is larger than the list takes ({max} bytes)");
        byte[] original;
        await using (var body = QueueStore.OpenBody(message))
        {
            original = new byte[message.MessageLength];
            await body.ReadExactlyAsync(original, ct);
        }
        MimeMessage post;
        try
        {
            post = MimeMessage.Load(new MemoryStream(original), ct);
        }
        catch (FormatException e)
        {
            return Refuse(message, list, "5.6.0", "the post cannot be read as a message: " + e.Message);
        }
        if (ListCopyBuilder.IsFromThisList(post, list))
            return Refuse(message, list, "5.4.6", $"the post came from {list.Address} itself (List-Id or Mailing-List): a loop");
        var posters = new HashSet<string>(StringComparer.Ordinal);
        if (sender.Length > 0)
            posters.Add(ListFolder.Normalize(sender));
        foreach (var from in post.From.Mailboxes)
            posters.Add(ListFolder.Normalize(from.Address));
        if (posters.Any(p => list.IsMember(MemberSet.Deny, p)))
            return Refuse(message, list, "5.7.1", $"the poster may not post to {list.Address}");
        var moderator = posters.Any(p => list.IsMember(MemberSet.Moderators, p));
        switch (config.Policy)
        {
            case PostingPolicy.Subscribers when !moderator && !posters.Any(p => list.IsMember(MemberSet.Subscribers, p) || list.IsMember(MemberSet.Digest, p) || list.IsMember(MemberSet.Allow, p)):
                return Refuse(message, list, "5.7.1", $"only subscribers may post to {list.Address}");
            case PostingPolicy.Announce when !moderator:
                return Refuse(message, list, "5.7.1", $"only the moderators may post to {list.Address} (announcements)");
            case PostingPolicy.Moderated when !moderator:
                return await HoldAsync(message, index, list, config, original, mayBeRepeat, ct);
        }

        var source = $"{message.QueueId}.{index.ToString(CultureInfo.InvariantCulture)}";
        var rewriteFrom = await RewritesFromAsync(config, post, ct); // before the lock: a DNS question may take seconds
        using (list.Lock(options.LockWait))
        {
            var result = await FanOutAsync(message.QueueId, list, config, source, sender, original, post, rewriteFrom, mayBeRepeat, ct);
            await LookAtBouncesAsync(list, ct); // after every post, as ezmlm runs ezmlm-warn
            await LookAtDigestAsync(list, config, ct); // and ezmlm-tstdig
            return result;
        }
    }

    /// <summary>
    /// Steps 1-4 of "A crash: every subscriber once": the number, the archive, the fan-out record and
    /// the copies' queue message. The caller holds the list's lock; <paramref name="repeatCheck"/>
    /// looks for an earlier fan-out of <paramref name="source"/> first.
    /// </summary>
    private async Task<DeliveryResult> FanOutAsync(string queueId, ListFolder list, ListConfig config, string source, string sender,
        byte[] original, MimeMessage post, bool rewriteFrom, bool repeatCheck, CancellationToken ct)
    {
        long number;
        if (repeatCheck && FindFanout(list, source) is { } earlier)
        {
            if (earlier.State == "queued" || queue.Contains(earlier.Queue))
                return DeliveryResult.Delivered($"post {earlier.Number} was queued before as {earlier.Queue}");
            number = earlier.Number; // numbered and archived; its copies never committed
        }
        else
        {
            number = list.LastNumber() + 1;
            WriteArchive(list, number, source, sender, original);
        }
        var subscribers = list.Members(MemberSet.Subscribers);
        var copy = ListCopyBuilder.Build(post, list, config, number, rewriteFrom);
        if (subscribers.Count == 0)
        {
            WriteFanout(list, number, source, "-", "queued");
            AdvanceNumber(list, number);
            return DeliveryResult.Delivered($"post {number} archived; no subscribers");
        }
        await using var tx = queue.Begin(new QueueEnvelope(Verp.Template($"{list.Name}-return-{ListFolder.Number(number)}-", list.Domain),
            subscribers, "127.0.0.1", hostname, ListOneClick.QueueProtocol)); // each copy's List-Unsubscribe is made at delivery (ListOneClick)
        await tx.WriteAsync(copy, ct);
        WriteFanout(list, number, source, tx.QueueId, "begun");
        AdvanceNumber(list, number);
        var id = await tx.CommitAsync(ct);
        WriteFanout(list, number, source, id, "queued");
        Posted(_log, queueId, id, list.Address, number, subscribers.Count, copy.Length);
        PruneFanouts(list);
        return DeliveryResult.Delivered($"post {number} queued as {id} for {subscribers.Count} subscribers");
    }

    /// <summary>from-rewrite: never, always, or dmarc: when the first From's domain publishes p=quarantine or p=reject (docs/lists.md).</summary>
    private async Task<bool> RewritesFromAsync(ListConfig config, MimeMessage post, CancellationToken ct) => config.FromRewrite switch
    {
        FromRewrite.Always => true,
        FromRewrite.Dmarc => post.From.Mailboxes.FirstOrDefault() is { } poster && poster.Address.LastIndexOf('@') is > 0 and var at
            && await _dmarc.AsksForRewriteAsync(poster.Address[(at + 1)..], ct),
        _ => false,
    };

    private DeliveryResult Refuse(QueuedMessage message, ListFolder list, string code, string why)
    {
        PostRefused(_log, message.QueueId, list.Address, message.Envelope.Sender, why);
        return DeliveryResult.Permanent(code, why);
    }

    private static void AdvanceNumber(ListFolder list, long number)
    {
        if (list.LastNumber() < number)
            list.WriteNumber(number);
    }

    public static string ArchivePath(ListFolder list, long number) =>
        Path.Combine(list.Path, "archive", ListFolder.Number(number / 100), ListFolder.Number(number));

    /// <summary>archive/B/N: the post as it arrived, framed (docs/lists.md).</summary>
    private void WriteArchive(ListFolder list, long number, string source, string sender, byte[] original) =>
        WriteArchive(list, number, source, sender, _time.GetUtcNow().ToUnixTimeSeconds(), original);

    /// <summary>archive/B/N as docs/lists.md frames it (also for `list import`, whose posts arrived elsewhere).</summary>
    public static void WriteArchive(ListFolder list, long number, string source, string sender, long received, byte[] original)
    {
        var path = ArchivePath(list, number);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var head = $"mailward-list-post 1\nnumber: {ListFolder.Number(number)}\nsource: {source}\nsender: {sender}\n" +
            $"received: {ListFolder.Number(received)}\nlength: {ListFolder.Number(original.Length)}\n\n";
        ListFile.Write(path, [.. Encoding.UTF8.GetBytes(head), .. original]);
    }

    /// <summary>The post as archived (the bytes that arrived); null when there is no such number.</summary>
    public static byte[]? ReadArchive(ListFolder list, long number)
    {
        var path = ArchivePath(list, number);
        var content = ListFile.ReadRaw(path);
        if (content is null)
            return null;
        var end = content.AsSpan().IndexOf("\n\n"u8);
        var head = end < 0 ? "" : Encoding.UTF8.GetString(content, 0, end);
        var lines = head.Split('\n');
        if (lines[0] != "mailward-list-post 1" || lines.FirstOrDefault(l => l.StartsWith("length: ", StringComparison.Ordinal)) is not { } lengthLine
            || !long.TryParse(lengthLine.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var length) || end + 2 + length != content.Length)
            throw new ListDamagedException(path, "not a framed post of its stated length");
        return content[(end + 2)..];
    }

    private sealed record Fanout(long Number, string Source, string Queue, string State);

    private static void WriteFanout(ListFolder list, long number, string source, string queueId, string state)
    {
        Directory.CreateDirectory(list.PathOf("fanout"));
        ListFile.Write(Path.Combine(list.PathOf("fanout"), ListFolder.Number(number)), "mailward-list-fanout 1",
            $"source: {source}\nqueue: {queueId}\nstate: {state}\n");
    }

    /// <summary>The fan-out record of <paramref name="source"/>, if a post of that delivery got that far.</summary>
    private static Fanout? FindFanout(ListFolder list, string source)
    {
        var dir = list.PathOf("fanout");
        if (!Directory.Exists(dir))
            return null;
        foreach (var file in Directory.EnumerateFiles(dir))
        {
            if (!long.TryParse(Path.GetFileName(file), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                continue; // .tmp leftovers
            var lines = ListFile.ReadLines(file, "mailward-list-fanout 1");
            if (lines is not { Count: 3 } || !lines[0].StartsWith("source: ", StringComparison.Ordinal) || !lines[1].StartsWith("queue: ", StringComparison.Ordinal)
                || !lines[2].StartsWith("state: ", StringComparison.Ordinal))
                throw new ListDamagedException(file, "not source, queue and state");
            if (lines[0][8..] == source)
                return new Fanout(n, source, lines[1][7..], lines[2][7..]);
        }
        return null;
    }

    private void PruneFanouts(ListFolder list)
    {
        var limit = _time.GetUtcNow() - FanoutKept;
        foreach (var file in Directory.EnumerateFiles(list.PathOf("fanout")))
            if (File.GetLastWriteTimeUtc(file) < limit.UtcDateTime)
                File.Delete(file);
    }

    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "list post id={QueueId} copies={CopiesId} list=<{List}> number={Number} subscribers={Subscribers} size={Size}")]
    private static partial void Posted(ILogger logger, string queueId, string copiesId, string list, long number, int subscribers, long size);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "list post refused id={QueueId} list=<{List}> from=<{Sender}> reason={Reason}")]
    private static partial void PostRefused(ILogger logger, string queueId, string list, string sender, string reason);
}
