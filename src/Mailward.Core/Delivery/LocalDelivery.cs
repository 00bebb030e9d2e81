// Local delivery for hosted domains, resolving like qmail-local + vdelivermail: alias lines, the
// user, an extension of either, then the catch-all. Maildir targets are written first; forwards
// (&address) are queued afterwards through the queue's one entry, as qmail-local orders them.
// mbox and |program lines are not supported yet: such recipients stay queued (Temporary).
using System.Buffers;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.MailStore;
using Mailward.Core.Queue;
using Mailward.Core.Routing;

namespace Mailward.Core.Delivery;

public enum DeliveryStatus
{
    Delivered,
    Temporary,
    Permanent,
    NotLocal,
}

public sealed record DeliveryResult(DeliveryStatus Status, string Detail);

public sealed class LocalDelivery(IAccountStore store, RecipientResolver resolver, MailStoreLayout layout, QueueStore queue, string hostname)
{
    private abstract record Target;
    private sealed record ToMaildir(string Maildir) : Target;
    private sealed record ToForward(string Address) : Target;
    private sealed record Unsupported(string Line) : Target;

    /// <summary>
    /// Delivers recipient <paramref name="index"/> of <paramref name="message"/>. With
    /// <paramref name="mayBeRepeat"/> (the message was in the queue at start-up) a Maildir file
    /// written by an earlier, interrupted attempt counts as delivered.
    /// </summary>
    public async Task<DeliveryResult> DeliverAsync(QueuedMessage message, int index, bool mayBeRepeat, CancellationToken ct = default)
    {
        var recipient = message.Envelope.Recipients[index];
        var at = recipient.LastIndexOf('@');
        if (at <= 0)
            return new DeliveryResult(DeliveryStatus.Permanent, "recipient without a domain");
        var resolution = resolver.Resolve(recipient[..at], recipient[(at + 1)..]);
        var (targets, failure) = Targets(resolution);
        if (failure is not null)
            return failure;
        if (targets.Count == 0)
            return new DeliveryResult(DeliveryStatus.Delivered, "discarded by the catch-all");
        // One open of the body serves the loop check and every Maildir target.
        await using var body = QueueStore.OpenBody(message);
        if (AlreadyDeliveredTo(body, recipient))
            return new DeliveryResult(DeliveryStatus.Permanent, $"looping: the message already carries Delivered-To: {recipient}");
        if (targets.OfType<Unsupported>().FirstOrDefault() is { } unsupported)
            return new DeliveryResult(DeliveryStatus.Temporary, $"delivery line not supported yet: {unsupported.Line}");

        var delivered = new List<string>();
        // Maildirs first, forwards after them (qmail-local).
        for (var t = 0; t < targets.Count; t++)
        {
            if (targets[t] is not ToMaildir box)
                continue;
            var name = MaildirWriter.UniqueBase(message.ArrivedAt, message.QueueId, index, t);
            if (mayBeRepeat && MaildirWriter.AlreadyDelivered(box.Maildir, name))
            {
                delivered.Add("already in " + box.Maildir);
                continue;
            }
            body.Position = 0;
            MaildirWriter.Deliver(box.Maildir, name, hostname, message.Envelope.Sender, recipient, body);
            delivered.Add(box.Maildir);
        }
        foreach (var forward in targets.OfType<ToForward>())
        {
            var id = await ForwardAsync(message, recipient, forward.Address, ct);
            delivered.Add($"forwarded to <{forward.Address}> as {id}");
        }
        return new DeliveryResult(DeliveryStatus.Delivered, string.Join("; ", delivered));
    }

    private (List<Target> Targets, DeliveryResult? Failure) Targets(Resolution r)
    {
        switch (r.Kind)
        {
            case ResolutionKind.NotHosted:
                return ([], new DeliveryResult(DeliveryStatus.NotLocal, "not a hosted domain"));
            case ResolutionKind.NotFound:
                return ([], new DeliveryResult(DeliveryStatus.Permanent, "no such user here"));
            case ResolutionKind.CatchAll:
                var c = r.Domain!.CatchAll;
                return c.Kind switch
                {
                    CatchAllKind.Delete => ([], null),
                    CatchAllKind.Forward => ([new ToForward(c.Target!)], null),
                    _ => Mailbox(c.Target!, r.Domain.Name),
                };
            default: // User, Alias, Extension: the alias of that name if there is one, else the user
                if (store.FindAlias(r.Local!, r.Domain!.Name) is { } alias)
                    return (alias.Lines.Select(Line).ToList(), null);
                return Mailbox(r.Local!, r.Domain.Name);
        }
    }

    private (List<Target>, DeliveryResult?) Mailbox(string local, string domain)
    {
        var user = store.FindUser(local, domain);
        if (user is null)
            return ([], new DeliveryResult(DeliveryStatus.Permanent, $"no such user here: {local}@{domain}"));
        if (user.Flags.HasFlag(UserFlags.BounceMail))
            return ([], new DeliveryResult(DeliveryStatus.Permanent, "this mailbox refuses all mail"));
        return ([new ToMaildir(MailStoreLayout.MaildirOf(layout.Resolve(user.Directory)))], null);
    }

    private static Target Line(string line) => line[0] switch
    {
        '&' => new ToForward(line[1..]),
        '/' when line.EndsWith('/') => new ToMaildir(line.TrimEnd('/')),
        _ => new Unsupported(line),
    };

    /// <summary>A forward is a new message through the queue's one entry, same sender, Delivered-To added for loop detection.</summary>
    private async Task<string> ForwardAsync(QueuedMessage message, string recipient, string address, CancellationToken ct)
    {
        var envelope = new QueueEnvelope(message.Envelope.Sender, [address], "127.0.0.1", hostname, "local");
        await using var tx = queue.Begin(envelope);
        await tx.WriteAsync(Encoding.UTF8.GetBytes($"Delivered-To: {recipient}\r\n"), ct);
        await using (var body = QueueStore.OpenBody(message))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = await body.ReadAsync(buffer, ct)) > 0)
                await tx.WriteAsync(buffer.AsMemory(0, n), ct);
        }
        return await tx.CommitAsync(ct);
    }

    /// <summary>qmail-local's loop check: a Delivered-To line for this recipient in the header.</summary>
    private static bool AlreadyDeliveredTo(Stream body, string recipient)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var n = body.ReadAtLeast(buffer.AsSpan(0, 64 * 1024), 64 * 1024, throwOnEndOfStream: false);
        var end = buffer.AsSpan(0, n).IndexOf("\r\n\r\n"u8);
        var header = Encoding.Latin1.GetString(buffer, 0, end >= 0 ? end : n);
        ArrayPool<byte>.Shared.Return(buffer);
        if (!header.Contains("Delivered-To:", StringComparison.OrdinalIgnoreCase))
            return false;
        foreach (var line in header.Split("\r\n"))
            if (line.StartsWith("Delivered-To:", StringComparison.OrdinalIgnoreCase) &&
                line[13..].Trim().Equals(recipient, StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }
}
