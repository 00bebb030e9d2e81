// Signing at the queue's way out: remote delivery asks for the message it is about to send and gets
// the queued bytes with the DKIM-Signature field on top when the From: domain has a key (and, below
// it, an ARC set when the message came in from a stranger and Arc:SealDomain is set), or the
// queued bytes unchanged. A message that cannot be signed is sent unsigned and logged (a warning),
// never held back: the receiver's DMARC policy decides, as for any unsigned mail.
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Dkim;

public sealed partial class DkimDeliverySigning(DkimMessageSigner signer, ILogger? logger = null, ArcSealer? arc = null)
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    /// <summary>How to open the message as it is to be sent, and its length (for SIZE=): sealed (ARC) when it came in from a stranger and Arc:SealDomain is set, then signed.</summary>
    /// <param name="recipientFields">Fields on top of the queued bytes for this recipient (a list copy's List-Unsubscribe): sealed and signed with them.</param>
    public async Task<(Func<Stream> Open, long Length)> PrepareAsync(QueuedMessage message, CancellationToken ct, byte[]? recipientFields = null)
    {
        var (queued, length) = await SealAsync(message, recipientFields, ct);
        try
        {
            var outcome = await signer.SignAsync(queued, ct);
            if (outcome.Field is { } field)
            {
                Signed(_log, message.QueueId, outcome.Domain, outcome.Selector);
                return (() => new PrefixedStream(field, queued()), length + field.Length);
            }
            if (outcome.Skipped is { } why)
                NotSigned(_log, message.QueueId, outcome.Domain, why);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or InvalidOperationException or Org.BouncyCastle.Crypto.CryptoException)
        {
            NotSigned(_log, message.QueueId, "", e.Message);
        }
        return (queued, length);
    }

    /// <summary>The queued message with an ARC set on top when it gets one (RFC 8617 §5.1); a failure sends it unsealed, as an unsigned one.</summary>
    private async Task<(Func<Stream> Open, long Length)> SealAsync(QueuedMessage message, byte[]? recipientFields, CancellationToken ct)
    {
        Func<Stream> queued = recipientFields is null ? () => QueueStore.OpenBody(message) : () => new PrefixedStream(recipientFields, QueueStore.OpenBody(message));
        var queuedLength = message.MessageLength + (recipientFields?.Length ?? 0);
        if (arc is null)
            return (queued, queuedLength);
        try
        {
            var outcome = await arc.SealAsync(queued, ct);
            if (outcome.Fields is { } fields)
            {
                Sealed(_log, message.QueueId, outcome.Instance, outcome.Chain);
                return (() => new PrefixedStream(fields, queued()), queuedLength + fields.Length);
            }
            if (outcome.Skipped is { } why)
                NotSealed(_log, message.QueueId, why);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or InvalidOperationException or Org.BouncyCastle.Crypto.CryptoException)
        {
            NotSealed(_log, message.QueueId, e.Message);
        }
        return (queued, queuedLength);
    }

    [LoggerMessage(EventId = 2408, Level = LogLevel.Debug, Message = "arc sealed id={QueueId} instance={Instance} cv={Chain}")]
    private static partial void Sealed(ILogger logger, string queueId, int instance, string chain);

    [LoggerMessage(EventId = 2409, Level = LogLevel.Warning, Message = "arc not sealed id={QueueId}: {Reason} (sent unsealed)")]
    private static partial void NotSealed(ILogger logger, string queueId, string reason);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Debug, Message = "dkim signed id={QueueId} domain={Domain} selector={Selector}")]
    private static partial void Signed(ILogger logger, string queueId, string domain, string selector);

    [LoggerMessage(EventId = 2405, Level = LogLevel.Warning, Message = "dkim not signed id={QueueId} domain={Domain}: {Reason} (sent unsigned)")]
    private static partial void NotSigned(ILogger logger, string queueId, string domain, string reason);
}
