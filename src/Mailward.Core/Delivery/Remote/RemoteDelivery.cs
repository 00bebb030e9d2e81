// Remote delivery of one message to the recipients that share a destination (qmail-rspawn +
// qmail-remote): find the hosts, skip the ones known to be unreachable, and hand the message to
// the first that answers. Connection failures move on to the next host; once a host has taken
// the transaction its per-recipient replies are the results. Hosts that connect but stay mute are
// backed off like unreachable ones; at most Remote:MaxMxSessions hosts are talked to per attempt
// (Postfix's smtp_mx_session_limit), and a peer that turns out to be this server ends it (a loop).
// The message goes out DKIM-signed for its From: domain when that domain has a key; a list copy's
// per-subscriber List-Unsubscribe (IRecipientFields) is put on top before it is signed.
// Where TLS is required (MTA-STS, Remote:RequireTlsRoutes; DeliveryTlsRules) only the hosts it allows
// are tried, each over verified TLS.
namespace Mailward.Core.Delivery.Remote;

public sealed class RemoteDelivery(MxResolver resolver, HostBackoff backoff, SmtpRelayClient client, int maxSessions = 2, Dkim.DkimDeliverySigning? dkim = null)
{
    public HostBackoff Backoff => backoff;

    /// <summary>MTA-STS policies and the routes that require TLS; null: opportunistic TLS everywhere.</summary>
    public DeliveryTlsRules? Tls { get; init; }

    /// <summary>Fields made for each recipient (a list copy's one-click List-Unsubscribe); null: none.</summary>
    public IRecipientFields? RecipientFields { get; init; }

    public async Task<IReadOnlyList<DeliveryResult>> DeliverAsync(Queue.QueuedMessage message, IReadOnlyList<string> recipients,
        Destination destination, CancellationToken ct)
    {
        var found = await resolver.ResolveAsync(destination, ct);
        if (found.Failure is { } failure)
            return recipients.Select(_ => failure).ToList();
        var tls = Tls is null ? DestinationTls.None(destination.Domain) : await Tls.ForAsync(destination, ct);
        if (tls.Enforced && found.Hosts.Count > 0 && !found.Hosts.Any(h => tls.Allows(h.Name)))
        {
            Tls!.NoMatchingMx(tls);
            var refused = DeliveryResult.Temporary("4.7.5", $"no MX host of {destination.Domain} matches its MTA-STS policy (RFC 8461 §4.1)");
            return recipients.Select(_ => refused).ToList();
        }
        // A double bounce travels with the null sender like any bounce (qmail's #@[]).
        var sender = message.Envelope.Sender == BounceBuilder.DoubleBounceSender ? "" : message.Envelope.Sender;
        // A VERP sender comes here with one recipient (QueueManager groups it so; docs/lists.md).
        sender = Verp.Expand(sender, recipients[0]);
        var eightBit = await HasEightBitAsync(message, ct);
        // Per-recipient fields only where the message goes to one recipient (a VERP sender's grouping): a list copy's List-Unsubscribe.
        var fields = RecipientFields is not null && recipients.Count == 1 ? await RecipientFields.FieldsAsync(message, recipients[0], ct) : null;
        Func<Stream> openBody = fields is null ? () => Queue.QueueStore.OpenBody(message) : () => new Queue.PrefixedStream(fields, Queue.QueueStore.OpenBody(message));
        var bodyLength = message.MessageLength + (fields?.Length ?? 0);
        // DKIM-signed on the way out when the From: domain has a key (docs/mail-auth.md), once per attempt; the fields above are signed too (RFC 8058 §4).
        if (dkim is not null)
            (openBody, bodyLength) = await dkim.PrepareAsync(message, ct, fields);
        DeliveryResult? last = null;
        var skipped = 0;
        var sessions = 0;
        foreach (var host in found.Hosts)
        {
            if (sessions >= maxSessions)
                break;
            if (!tls.Allows(host.Name))
                continue; // RFC 8461 §4.1: not a host the enforced policy names
            if (backoff.IsSkipped(host.Endpoint))
            {
                skipped++;
                continue;
            }
            var session = await client.SendAsync(host.Name, host.Endpoint, sender, recipients,
                openBody, bodyLength, eightBit, ct, requireTls: tls.For(host.Name));
            if (session.Connected)
                Tls?.Report(tls, host.Name, session.Tls);
            if (!session.Connected)
            {
                backoff.Failed(host.Endpoint, session.SessionFailure!.Detail);
                last = session.SessionFailure;
                continue;
            }
            sessions++;
            if (session.Loop)
                return recipients.Select(_ => session.SessionFailure!).ToList();
            if (session.Mute)
            {
                // Accepted the connection, then said nothing useful in time: a tarpit costs one timeout, not one per message.
                backoff.Failed(host.Endpoint, session.SessionFailure!.Detail);
                last = session.SessionFailure;
                continue;
            }
            backoff.Succeeded(host.Endpoint);
            if (session.SessionFailure is { } early)
            {
                last = early; // greeting or EHLO refused: the next MX may do better
                continue;
            }
            return session.Recipients;
        }
        last ??= DeliveryResult.Temporary("4.4.1",
            $"all {skipped} mail host(s) for {destination.Domain} failed recently and are being skipped (mailward queue hosts)");
        return recipients.Select(_ => last).ToList();
    }

    private static async Task<bool> HasEightBitAsync(Queue.QueuedMessage message, CancellationToken ct)
    {
        await using var body = Queue.QueueStore.OpenBody(message);
        var buffer = new byte[1 << 16];
        int n;
        while ((n = await body.ReadAsync(buffer, ct)) > 0)
            if (buffer.AsSpan(0, n).IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0)
                return true;
        return false;
    }
}
