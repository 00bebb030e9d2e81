// Signing at the queue's way out: remote delivery asks for the message it is about to send and gets
// the queued bytes with the DKIM-Signature field on top when the From: domain has a key, or the
// queued bytes unchanged. A message that cannot be signed is sent unsigned and logged (a warning),
// never held back: the receiver's DMARC policy decides, as for any unsigned mail.
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Dkim;

public sealed partial class DkimDeliverySigning(DkimMessageSigner signer, ILogger? logger = null)
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    /// <summary>How to open the message as it is to be sent, and its length (for SIZE=).</summary>
    public async Task<(Func<Stream> Open, long Length)> PrepareAsync(QueuedMessage message, CancellationToken ct)
    {
        Func<Stream> queued = () => QueueStore.OpenBody(message);
        try
        {
            var outcome = await signer.SignAsync(queued, ct);
            if (outcome.Field is { } field)
            {
                Signed(_log, message.QueueId, outcome.Domain, outcome.Selector);
                return (() => new PrefixedStream(field, QueueStore.OpenBody(message)), message.MessageLength + field.Length);
            }
            if (outcome.Skipped is { } why)
                NotSigned(_log, message.QueueId, outcome.Domain, why);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or InvalidOperationException or Org.BouncyCastle.Crypto.CryptoException)
        {
            NotSigned(_log, message.QueueId, "", e.Message);
        }
        return (queued, message.MessageLength);
    }

    [LoggerMessage(EventId = 2404, Level = LogLevel.Debug, Message = "dkim signed id={QueueId} domain={Domain} selector={Selector}")]
    private static partial void Signed(ILogger logger, string queueId, string domain, string selector);

    [LoggerMessage(EventId = 2405, Level = LogLevel.Warning, Message = "dkim not signed id={QueueId} domain={Domain}: {Reason} (sent unsigned)")]
    private static partial void NotSigned(ILogger logger, string queueId, string domain, string reason);
}
