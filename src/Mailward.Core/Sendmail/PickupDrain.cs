// The server's side of the pickup folder (docs/pickup-format.md, "Draining"): at start, before the
// delivery loop runs, it remembers which submissions the queue holds already; then it queues each
// waiting file through SendmailIntake, whose commit removes the file before delivery can see the
// message, so a crash anywhere queues every file exactly once.
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;

namespace Mailward.Core.Sendmail;

public sealed partial class PickupDrain(PickupFolder folder, SendmailIntake intake, long maxPayload, uint serverUid, ILogger logger, TimeProvider? time = null) : IDisposable
{
    private static readonly TimeSpan StaleTemp = TimeSpan.FromHours(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _one = new(1, 1);
    private HashSet<string>? _queuedAtStart;

    /// <summary>Call before the delivery loop starts: the local messages queued before a crash.</summary>
    public void RememberQueued(IEnumerable<QueuedMessage> messages) => _queuedAtStart = SendmailIntake.QueuedIds(messages);

    /// <summary>Queues every waiting file once; returns how many were queued.</summary>
    public async Task<int> DrainAsync(CancellationToken ct = default)
    {
        await _one.WaitAsync(ct);
        try
        {
            folder.Create();
            if (folder.CheckPrivate(serverUid) is { } problem)
            {
                NotPrivate(logger, problem);
                return 0;
            }
            var now = _time.GetUtcNow();
            folder.RemoveStaleTemp(StaleTemp, now);
            var queued = 0;
            foreach (var name in folder.Waiting())
            {
                ct.ThrowIfCancellationRequested();
                var (request, damage) = folder.Read(name, maxPayload);
                if (request is null)
                {
                    Damaged(logger, name, damage!);
                    folder.SetAside(name, "damaged: " + damage, now);
                    continue;
                }
                if (_queuedAtStart is { } known && known.Remove(request.Id))
                {
                    // Committed before a crash, its unlink lost: the queue has it, the file goes.
                    folder.Remove(name);
                    AlreadyQueued(logger, name);
                    continue;
                }
                var outcome = await intake.SubmitAsync(request, () => RemoveBeforeDelivery(name), ct);
                if (outcome.Queued)
                {
                    queued++;
                    Queued(logger, name, outcome.QueueId!, request.Uid, request.Login);
                }
                else if (outcome.ExitCode == SendmailExit.TempFail)
                {
                    Deferred(logger, name, outcome.Message);
                    break; // free space or the queue: later files would fail the same way
                }
                else
                {
                    Refused(logger, name, outcome.Message);
                    folder.SetAside(name, "refused: " + outcome.Message, now);
                }
            }
            return queued;
        }
        finally
        {
            _one.Release();
        }
    }

    public void Dispose() => _one.Dispose();

    /// <summary>Runs on the queue's writer after the fsync; must not throw (docs/pickup-format.md).</summary>
    private void RemoveBeforeDelivery(string name)
    {
        try
        {
            folder.Remove(name);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            RemoveFailed(logger, name, e.Message);
        }
    }

    [LoggerMessage(EventId = 1700, Level = LogLevel.Information, Message = "pickup {File}: queued as {QueueId} (uid {Uid}, {Login})")]
    private static partial void Queued(ILogger logger, string file, string queueId, uint uid, string login);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "pickup {File}: queued before a restart; file removed")]
    private static partial void AlreadyQueued(ILogger logger, string file);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Error, Message = "pickup {File}: damaged ({Damage}); moved to pickup/corrupt, not delivered")]
    private static partial void Damaged(ILogger logger, string file, string damage);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Error, Message = "pickup {File}: refused ({Reason}); moved to pickup/corrupt")]
    private static partial void Refused(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Warning, Message = "pickup {File}: deferred ({Reason}); tried again at the next scan")]
    private static partial void Deferred(ILogger logger, string file, string reason);

    [LoggerMessage(EventId = 1705, Level = LogLevel.Error, Message = "pickup: not draining: {Problem}")]
    private static partial void NotPrivate(ILogger logger, string problem);

    [LoggerMessage(EventId = 1706, Level = LogLevel.Error, Message = "pickup {File}: queued, but the file could not be removed ({Error}); a restart will not queue it again while the message is queued")]
    private static partial void RemoveFailed(ILogger logger, string file, string error);
}
