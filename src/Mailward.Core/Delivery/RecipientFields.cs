// Header fields that differ for each recipient of one queued message, put on top of that
// recipient's copy at delivery, as VERP's sender is made there: a list copy's List-Unsubscribe with
// the subscriber's one-click token (docs/lists.md, "One-click unsubscribe"). Local delivery (every
// target, forwards too) and remote delivery (before DKIM signs) ask for them.
using Mailward.Core.Queue;

namespace Mailward.Core.Delivery;

public interface IRecipientFields
{
    /// <summary>CRLF-ended header lines to put above <paramref name="recipient"/>'s copy of <paramref name="message"/>; null: none.</summary>
    ValueTask<byte[]?> FieldsAsync(QueuedMessage message, string recipient, CancellationToken ct);
}
