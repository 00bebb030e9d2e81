// Takes every queued message to its recipients (qmail-send): picks up new messages the moment
// their commit returns, delivers each pending recipient once, checkpoints each outcome in the
// queue (fsynced) before the next, and removes the message when all are done. Local deliveries
// run at most Delivery:LocalConcurrency at a time.
// Not yet: remote delivery, the retry schedule and bounces (DSN). Recipients waiting for those
// stay queued, visible in `mailward queue list`, and are tried again at the next start.
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;

namespace Mailward.Core.Delivery;

public sealed partial class QueueManager(QueueStore queue, LocalDelivery local, ILogger<QueueManager> log, TimeProvider? time = null, int localConcurrency = 10) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(localConcurrency);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly List<Task> _running = [];

    /// <summary>Runs until <paramref name="ct"/> is cancelled, then waits for the deliveries in flight.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        // Messages found at start-up may have been in flight when the last process died.
        foreach (var m in queue.Messages.OrderBy(m => m.QueueId, StringComparer.Ordinal))
            Schedule(m, mayBeRepeat: true, ct);
        try
        {
            await foreach (var m in queue.Committed.ReadAllAsync(ct))
                Schedule(m, mayBeRepeat: false, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        Task[] running;
        lock (_running)
            running = [.. _running];
        await Task.WhenAll(running);
    }

    private void Schedule(QueuedMessage message, bool mayBeRepeat, CancellationToken ct)
    {
        var task = Task.Run(async () =>
        {
            await _slots.WaitAsync(CancellationToken.None);
            try
            {
                await DeliverMessageAsync(message, mayBeRepeat, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                DeliveryCrashed(log, message.QueueId, e.Message);
            }
            finally
            {
                _slots.Release();
            }
        }, CancellationToken.None);
        lock (_running)
        {
            _running.RemoveAll(t => t.IsCompleted);
            _running.Add(task);
        }
    }

    private async Task DeliverMessageAsync(QueuedMessage message, bool mayBeRepeat, CancellationToken ct)
    {
        var done = message.Done.Count;
        var pending = message.PendingRecipients.ToList();
        foreach (var index in pending)
        {
            if (ct.IsCancellationRequested)
                return; // the rest waits in the queue for the next start
            var recipient = message.Envelope.Recipients[index];
            DeliveryResult result;
            try
            {
                result = await local.DeliverAsync(message, index, mayBeRepeat, ct);
            }
            catch (IOException e)
            {
                result = new DeliveryResult(DeliveryStatus.Temporary, e.Message);
            }
            var delay = (_time.GetUtcNow() - message.ArrivedAt).TotalSeconds;
            var status = result.Status.ToString().ToLowerInvariant();
            Attempt(log, message.QueueId, recipient, status, result.Detail, delay);
            if (result.Status != DeliveryStatus.Delivered)
                continue;
            done++;
            // The last recipient's checkpoint is the removal itself: one fsync wait, not two.
            if (done == message.Envelope.Recipients.Count)
                await queue.RemoveAsync(message.QueueId);
            else
                await queue.MarkDoneAsync(message.QueueId, index, RecipientOutcome.Delivered);
        }
    }

    public void Dispose() => _slots.Dispose();

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information,
        Message = "delivery id={QueueId} to=<{Recipient}> result={Result} detail={Detail} delay={Delay:F1}s")]
    private static partial void Attempt(ILogger logger, string queueId, string recipient, string result, string detail, double delay);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "delivery id={QueueId} failed unexpectedly: {Error}; the message stays queued")]
    private static partial void DeliveryCrashed(ILogger logger, string queueId, string error);
}
