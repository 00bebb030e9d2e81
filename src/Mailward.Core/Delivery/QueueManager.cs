// Takes every queued message to its recipients (qmail-send): picks up new messages the moment
// their commit returns, delivers each pending recipient once (local first, then one connection per
// remote destination), checkpoints each final outcome in the queue (fsynced) before moving on,
// retries temporary failures on qmail's schedule until Queue:Lifetime, then sends one DSN for the
// failed recipients and removes the message. The clock is a TimeProvider so tests can drive it.
using System.Collections.Concurrent;
using System.Threading.Channels;
using Mailward.Core.Delivery.Remote;
using Mailward.Core.Metrics;
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;

namespace Mailward.Core.Delivery;

public sealed record DeliveryOptions
{
    public required string Hostname { get; init; }
    public int LocalConcurrency { get; init; } = 10;
    public int RemoteConcurrency { get; init; } = 20;
    public int BounceConcurrency { get; init; } = 5;
    public int DestinationConcurrency { get; init; } = 5;
    public TimeSpan Lifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Where a bounce that cannot be delivered goes; empty: postmaster@Hostname.</summary>
    public string DoubleBounceTo { get; init; } = "";

    /// <summary>Most bytes of the original header a DSN carries back (Delivery:BounceHeaderBytes).</summary>
    public int BounceHeaderBytes { get; init; } = 4096;

    /// <summary>How soon a delivery deferred because the account store was unreachable is tried again (Accounts:UnavailableRetrySeconds).</summary>
    public TimeSpan StoreUnavailableRetry { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>One recipient as `mailward queue list` shows it.</summary>
public sealed record RecipientStatus(string Address, string State, DateTimeOffset? NextAttempt, string LastError);

public sealed record MessageStatus(string QueueId, DateTimeOffset ArrivedAt, string Sender, long Bytes, string Origin, IReadOnlyList<RecipientStatus> Recipients)
{
    /// <summary>How the message came in, as `queue list` shows it: "ESMTP from 192.0.2.1".</summary>
    public static string OriginOf(QueueEnvelope e) => $"{e.Protocol} from {e.ClientAddress}";
}

public sealed partial class QueueManager : IDisposable
{
    private readonly QueueStore _queue;
    private readonly LocalDelivery _local;
    private readonly RemoteDelivery _remote;
    private readonly RemoteRoutes _routes;
    private readonly DeliveryOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _localSlots;
    private readonly RemoteSlots _remoteSlots;
    private readonly ConcurrentDictionary<string, Tracked> _tracked = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Tracked, DateTimeOffset> _timers = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly List<Task> _running = [];
    private CancellationToken _stopping;

    /// <summary>What the manager knows of a message beyond the queue: when to try next and what went wrong.</summary>
    private sealed class Tracked(string queueId, bool mayBeRepeat)
    {
        public string QueueId { get; } = queueId;
        public bool MayBeRepeat { get; set; } = mayBeRepeat;
        public bool Running { get; set; }
        public DateTimeOffset? NextAttempt { get; set; }
        public ConcurrentDictionary<int, string> LastError { get; } = new();

        /// <summary>Local targets this message reached (LocalDelivery's duplicate elimination); passes of one message never overlap.</summary>
        public HashSet<string> Reached { get; } = new(StringComparer.Ordinal);
    }

    public QueueManager(QueueStore queue, LocalDelivery local, RemoteDelivery remote, RemoteRoutes routes, DeliveryOptions options,
        ILogger<QueueManager> log, TimeProvider? time = null)
    {
        _queue = queue;
        _local = local;
        _remote = remote;
        _routes = routes;
        _options = options;
        _log = log;
        _time = time ?? TimeProvider.System;
        _localSlots = new SemaphoreSlim(options.LocalConcurrency);
        _remoteSlots = new RemoteSlots(options.RemoteConcurrency, options.BounceConcurrency, options.DestinationConcurrency);
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled, then waits for the deliveries in flight.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        _stopping = ct;
        // Messages found at start-up may have been in flight when the last process died.
        // A held message (its body file missing or mis-sized) waits for the admin: never delivered wrong.
        var committed = _queue.SubscribeCommitted();
        foreach (var m in _queue.Messages.Where(m => !m.Held).OrderBy(m => m.QueueId, StringComparer.Ordinal))
            Dispatch(_tracked.GetOrAdd(m.QueueId, id => new Tracked(id, mayBeRepeat: true)));
        var intake = Task.Run(async () =>
        {
            await foreach (var m in committed.ReadAllAsync(ct))
                Dispatch(_tracked.GetOrAdd(m.QueueId, id => new Tracked(id, mayBeRepeat: false)));
        }, CancellationToken.None);
        try
        {
            await TimerLoopAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        try
        {
            await intake;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        Task[] running;
        lock (_running)
            running = [.. _running];
        await Task.WhenAll(running);
    }

    /// <summary>Retries every deferred message now and forgets unreachable hosts (qmail's SIGALRM).</summary>
    public int Flush()
    {
        var now = _time.GetUtcNow();
        int count;
        lock (_timers)
        {
            var waiting = _tracked.Values.Where(t => !t.Running && t.NextAttempt is not null).ToList();
            _timers.Clear();
            foreach (var t in waiting)
            {
                t.NextAttempt = now;
                _timers.Enqueue(t, now);
            }
            count = waiting.Count;
        }
        foreach (var h in _remote.Backoff.Snapshot())
            if (System.Net.IPEndPoint.TryParse(h.Endpoint, out var ep))
                _remote.Backoff.Succeeded(ep);
        _wake.Writer.TryWrite(true);
        return count;
    }

    /// <summary>Removes a message from the queue without delivering it further (`mailward queue del`).</summary>
    public async Task<bool> DeleteAsync(string queueId)
    {
        if (!_queue.Contains(queueId))
            return false;
        await _queue.RemoveAsync(queueId);
        _tracked.TryRemove(queueId, out _);
        Deleted(_log, queueId);
        return true;
    }

    /// <summary>Every queued message with each recipient's state, next attempt and last error.</summary>
    public IReadOnlyList<MessageStatus> Status() =>
        _queue.Messages.OrderBy(m => m.QueueId, StringComparer.Ordinal).Select(m =>
        {
            _tracked.TryGetValue(m.QueueId, out var t);
            var recipients = m.Envelope.Recipients.Select((r, i) => m.Done.TryGetValue(i, out var o)
                ? new RecipientStatus(r, o.ToString().ToLowerInvariant(), null, m.ReasonFor(i))
                : m.Held ? new RecipientStatus(r, "held", null, m.Problem!)
                : new RecipientStatus(r, t?.Running == true ? "delivering" : "pending", t?.Running == true ? null : t?.NextAttempt,
                    t is not null && t.LastError.TryGetValue(i, out var e) ? e : "")).ToList();
            return new MessageStatus(m.QueueId, m.ArrivedAt, m.Envelope.Sender, m.MessageLength, MessageStatus.OriginOf(m.Envelope), recipients);
        }).ToList();

    public IReadOnlyList<UnreachableHost> Hosts() => _remote.Backoff.Snapshot();

    /// <summary>What the queue's start-up scan found wrong (damage, suspect and held messages).</summary>
    public QueueHealth QueueHealth => _queue.Health;

    private async Task TimerLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TimeSpan? wait = null;
            var due = new List<Tracked>();
            lock (_timers)
            {
                var now = _time.GetUtcNow();
                while (_timers.TryPeek(out var t, out var at))
                {
                    if (at > now)
                    {
                        wait = at - now;
                        break;
                    }
                    _timers.Dequeue();
                    if (t.NextAttempt == at && !t.Running)
                        due.Add(t);
                }
            }
            foreach (var t in due)
                Dispatch(t);
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var woke = _wake.Reader.WaitToReadAsync(timer.Token).AsTask();
            if (wait is { } w)
                await Task.WhenAny(woke, Task.Delay(w, _time, timer.Token));
            else
                await woke;
            timer.Cancel();
            _wake.Reader.TryRead(out _);
            ct.ThrowIfCancellationRequested();
        }
    }

    private void Dispatch(Tracked t)
    {
        lock (t)
        {
            if (t.Running)
                return;
            t.Running = true;
            t.NextAttempt = null;
        }
        var task = Task.Run(async () =>
        {
            try
            {
                await PassAsync(t, _stopping);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                DeliveryCrashed(_log, t.QueueId, e.Message);
                Defer(t, RetrySchedule.NextAttempt(_time.GetUtcNow(), _time.GetUtcNow(), RetrySchedule.LocalFactor));
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                lock (t)
                    t.Running = false;
            }
        }, CancellationToken.None);
        lock (_running)
        {
            _running.RemoveAll(x => x.IsCompleted);
            _running.Add(task);
        }
    }

    /// <summary>One delivery pass over a message's pending recipients.</summary>
    private async Task PassAsync(Tracked t, CancellationToken ct)
    {
        if (_queue.Find(t.QueueId) is not { } message)
        {
            _tracked.TryRemove(t.QueueId, out _);
            return;
        }
        var pending = message.PendingRecipients.ToList();
        var left = pending.Count;
        var deferredLocal = false;
        var deferredRemote = false;
        var storeAway = false;
        var groups = new Dictionary<string, (Destination Destination, List<int> Indexes)>(StringComparer.OrdinalIgnoreCase);

        foreach (var index in pending)
        {
            if (ct.IsCancellationRequested)
                return; // the rest waits in the queue for the next start
            DeliveryResult result;
            await _localSlots.WaitAsync(CancellationToken.None);
            var started = _time.GetTimestamp();
            try
            {
                result = await _local.DeliverAsync(message, index, t.MayBeRepeat, t.Reached, ct);
            }
            catch (IOException e)
            {
                result = DeliveryResult.Temporary("4.3.0", e.Message);
            }
            catch (Accounts.AccountStoreUnavailableException e)
            {
                // The account store is away (PostgreSQL restarting): the recipient waits in the queue, tried again soon.
                result = DeliveryResult.Temporary("4.3.0", e.Message);
                storeAway = true;
            }
            finally
            {
                _localSlots.Release();
            }
            if (result.Status == DeliveryStatus.NotLocal)
            {
                var recipient = message.Envelope.Recipients[index];
                var destination = _routes.For(recipient[(recipient.LastIndexOf('@') + 1)..].ToLowerInvariant());
                // A VERP sender differs per recipient: one transaction each (docs/lists.md).
                var key = Verp.IsTemplate(message.Envelope.Sender) ? destination.Key + "\n" + recipient : destination.Key;
                if (!groups.TryGetValue(key, out var g))
                    groups[key] = g = (destination, []);
                g.Indexes.Add(index);
                continue;
            }
            if (await RecordAsync(t, message, index, result, "local", _time.GetElapsedTime(started), () => pending.Count == 1) is false)
                deferredLocal = true;
            else
                left--;
        }

        var remoteTasks = groups.Values.Select(async g =>
        {
            IReadOnlyList<DeliveryResult> results;
            var bounce = message.Envelope.Sender is "" or BounceBuilder.DoubleBounceSender;
            TimeSpan took;
            using (await _remoteSlots.EnterAsync(g.Destination.Key, bounce, limited: !g.Destination.SmartHost, CancellationToken.None))
            {
                var started = _time.GetTimestamp(); // the conversation, not the wait for a slot
                results = await _remote.DeliverAsync(message, g.Indexes.Select(i => message.Envelope.Recipients[i]).ToList(), g.Destination, ct);
                took = _time.GetElapsedTime(started);
            }
            var deferred = false;
            for (var k = 0; k < g.Indexes.Count; k++)
                if (await RecordAsync(t, message, g.Indexes[k], results[k], "remote", took, () => Interlocked.Decrement(ref left) == 0) is false)
                    deferred = true;
            return deferred;
        }).ToList();
        foreach (var deferred in await Task.WhenAll(remoteTasks))
            deferredRemote |= deferred;
        // Any later pass may meet files this one wrote: a recipient whose first alias line was
        // delivered and a later line deferred must find its own Maildir file and count it done.
        t.MayBeRepeat = true;

        if (_queue.Find(t.QueueId) is not { } after)
        {
            _tracked.TryRemove(t.QueueId, out _);
            return; // deleted meanwhile
        }
        if (!after.PendingRecipients.Any() || left == 0 && !deferredLocal && !deferredRemote)
        {
            await FinishAsync(after);
            _tracked.TryRemove(t.QueueId, out _);
            return;
        }
        var now = _time.GetUtcNow();
        var next = RetrySchedule.NextAttempt(message.ArrivedAt, now, deferredLocal ? RetrySchedule.LocalFactor : RetrySchedule.RemoteFactor);
        if (deferredLocal && deferredRemote)
            next = Min(next, RetrySchedule.NextAttempt(message.ArrivedAt, now, RetrySchedule.RemoteFactor));
        if (storeAway)
            next = Min(next, now + _options.StoreUnavailableRetry);
        // The last attempt happens at the end of the lifetime, not up to a schedule step later.
        Defer(t, Min(next, message.ArrivedAt + _options.Lifetime));
    }

    /// <summary>
    /// Records one recipient's outcome. Final outcomes are checkpointed; a temporary failure past
    /// Queue:Lifetime becomes final. Returns false when the recipient stays deferred.
    /// </summary>
    private async Task<bool> RecordAsync(Tracked t, QueuedMessage message, int index, DeliveryResult result, string channel, TimeSpan took, Func<bool> isLast)
    {
        var recipient = message.Envelope.Recipients[index];
        var now = _time.GetUtcNow();
        Attempt(_log, message.QueueId, recipient, channel, StatusNames[(int)result.Status], result.Detail, (now - message.ArrivedAt).TotalSeconds,
            took.TotalSeconds, message.MessageLength);
        MailwardMetrics.Delivery(channel, StatusNames[(int)result.Status], now - message.ArrivedAt);
        switch (result.Status)
        {
            case DeliveryStatus.Delivered:
                t.LastError.TryRemove(index, out _);
                // The last recipient's checkpoint is the removal itself: one fsync wait, not two.
                if (isLast())
                    return true;
                await _queue.MarkDoneAsync(message.QueueId, index, RecipientOutcome.Delivered);
                return true;
            case DeliveryStatus.Permanent:
                isLast();
                await _queue.MarkDoneAsync(message.QueueId, index, RecipientOutcome.Bounced,
                    new RecipientReport(result.Detail, result.Code, result.Remote?.Mta ?? "", result.Remote?.Reply ?? ""));
                return true;
            default:
                if (now - message.ArrivedAt < _options.Lifetime)
                {
                    t.LastError[index] = result.Detail;
                    return false;
                }
                isLast();
                // The DSN keeps the last error's own code (Postfix does the same); the diagnostic, giving up, is ours.
                await _queue.MarkDoneAsync(message.QueueId, index, RecipientOutcome.Bounced, new RecipientReport(
                    $"gave up after {_options.Lifetime.TotalDays:0.#} days in the queue; last error: {result.Detail}", result.Code));
                return true;
        }
    }

    /// <summary>Every recipient is done: one DSN for the failed ones (never to the null sender), then removal.</summary>
    private async Task FinishAsync(QueuedMessage message)
    {
        var failed = message.Done.Where(d => d.Value == RecipientOutcome.Bounced).OrderBy(d => d.Key)
            .Select(d => new FailedRecipient(message.Envelope.Recipients[d.Key], message.ReportFor(d.Key))).ToList();
        if (failed.Count > 0)
            await BounceAsync(message, failed);
        await _queue.RemoveAsync(message.QueueId);
        var recipients = message.Envelope.Recipients.Count;
        var qtime = _time.GetUtcNow() - message.ArrivedAt;
        Done(_log, message.QueueId, recipients, recipients - failed.Count, failed.Count, qtime.TotalSeconds);
    }

    private async Task BounceAsync(QueuedMessage message, List<FailedRecipient> failed)
    {
        if (Verp.IsTemplate(message.Envelope.Sender))
        {
            // Each recipient's bounce goes to its own VERP address (docs/lists.md).
            foreach (var f in failed)
                await BounceAsync(message, [f], Verp.Expand(message.Envelope.Sender, f.Address));
            return;
        }
        await BounceAsync(message, failed, message.Envelope.Sender);
    }

    private async Task BounceAsync(QueuedMessage message, List<FailedRecipient> failed, string sender)
    {
        if (sender == BounceBuilder.DoubleBounceSender)
        {
            if (_log.IsEnabled(LogLevel.Warning))
                DoubleBounceDropped(_log, message.QueueId, string.Join(", ", failed.Select(f => f.Address)));
            return;
        }
        var doubleBounce = sender.Length == 0;
        var to = doubleBounce ? (_options.DoubleBounceTo.Length > 0 ? _options.DoubleBounceTo : "postmaster@" + _options.Hostname) : sender;
        byte[] dsn;
        await using (var body = QueueStore.OpenBody(message))
            dsn = BounceBuilder.Build(_options.Hostname, doubleBounce ? failed[0].Address : sender, message.QueueId, message.ArrivedAt,
                failed, body, doubleBounce, _time.GetUtcNow(), _options.BounceHeaderBytes);
        var envelope = new QueueEnvelope(doubleBounce ? BounceBuilder.DoubleBounceSender : "", [to], "127.0.0.1", _options.Hostname, "bounce");
        await using var tx = _queue.Begin(envelope);
        await tx.WriteAsync(dsn);
        var id = await tx.CommitAsync();
        Bounced(_log, message.QueueId, id, to, failed.Count, dsn.Length);
    }

    private void Defer(Tracked t, DateTimeOffset at)
    {
        lock (_timers)
        {
            t.NextAttempt = at;
            _timers.Enqueue(t, at);
        }
        _wake.Writer.TryWrite(true);
    }

    private static readonly string[] StatusNames = ["delivered", "deferred", "failed", "not-local"];

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    public void Dispose()
    {
        _localSlots.Dispose();
        _remoteSlots.Dispose();
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information,
        Message = "delivery id={QueueId} to=<{Recipient}> channel={Channel} result={Result} detail={Detail} delay={Delay:F1}s xdelay={XDelay:F3}s size={Size}")]
    private static partial void Attempt(ILogger logger, string queueId, string recipient, string channel, string result, string detail, double delay,
        double xDelay, long size);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "delivery id={QueueId} failed unexpectedly: {Error}; the message stays queued")]
    private static partial void DeliveryCrashed(ILogger logger, string queueId, string error);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "bounce id={QueueId} dsn={BounceId} to=<{To}> failed={Failed} size={Size}")]
    private static partial void Bounced(ILogger logger, string queueId, string bounceId, string to, int failed, long size);

    /// <summary>qmailanalog's "end msg": the line `mailward stats` counts completed messages and qtime by (docs/log-format.md).</summary>
    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "done id={QueueId} rcpts={Recipients} delivered={Delivered} failed={Failed} qtime={QTime:F3}s")]
    private static partial void Done(ILogger logger, string queueId, int recipients, int delivered, int failed, double qTime);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "double bounce id={QueueId} to {Recipients} failed; dropped")]
    private static partial void DoubleBounceDropped(ILogger logger, string queueId, string recipients);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "deleted id={QueueId} by the admin")]
    private static partial void Deleted(ILogger logger, string queueId);
}
