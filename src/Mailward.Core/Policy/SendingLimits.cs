// Per-user sending limits for authenticated senders: messages per hour and recipients per message,
// from settings with per-domain overrides (Submission:Overrides:<domain>:...). Counted over a sliding
// hour: in this process on SQLite (one node), in the account store's shared events on PostgreSQL,
// where every node counts every node's messages (docs/multi-node.md). A shared check that cannot
// reach the store throws AccountStoreUnavailableException (MAIL answers 451 4.3.0: no message
// starts uncounted); a message accepted while the store is away is counted when it is back.
using System.Collections.Concurrent;
using Mailward.Core.Accounts;

namespace Mailward.Core.Policy;

public sealed record SendingLimit(int MessagesPerHour, int RecipientsPerMessage);

public sealed class SendingLimits(SendingLimit defaults, IReadOnlyDictionary<string, SendingLimit> perDomain, TimeProvider? time = null,
    ISharedCounters? shared = null)
{
    private const string Kind = "sent";
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _sent = new(StringComparer.OrdinalIgnoreCase);

    public SendingLimit For(string domain) => perDomain.TryGetValue(domain, out var l) ? l : defaults;

    /// <summary>True when <paramref name="user"/> may start another message now (0 is unlimited).</summary>
    /// <exception cref="AccountStoreUnavailableException">The counts are shared and the store cannot be reached.</exception>
    public bool MayStartMessage(string user, string domain)
    {
        var limit = For(domain).MessagesPerHour;
        if (limit == 0)
            return true;
        if (shared is not null)
        {
            var pending = Flush(user); // this node's messages the store has not heard of yet count too
            return pending + shared.CountEvents(Key(user), _time.GetUtcNow() - Window, limit) < limit;
        }
        var q = _sent.GetOrAdd(user, _ => new Queue<DateTimeOffset>());
        lock (q)
        {
            Expire(q);
            return q.Count < limit;
        }
    }

    /// <summary>Counts a message the queue accepted (never throws: the message is taken; a shared count waits for the store).</summary>
    public void Sent(string user, string domain)
    {
        if (For(domain).MessagesPerHour == 0)
            return; // unlimited: nothing to count, no write per message
        var q = _sent.GetOrAdd(user, _ => new Queue<DateTimeOffset>());
        lock (q)
        {
            Expire(q);
            q.Enqueue(_time.GetUtcNow());
        }
        if (shared is not null)
            Flush(user);
    }

    /// <summary>
    /// Shared counts: moves this process's counted messages of <paramref name="user"/> into the
    /// store; returns how many of them (still in the hour) the store could not take now.
    /// </summary>
    private int Flush(string user)
    {
        if (!_sent.TryGetValue(user, out var q))
            return 0;
        lock (q)
        {
            Expire(q);
            if (q.Count == 0)
                return 0;
            try
            {
                shared!.AddEvents(Key(user), [.. q], Window);
                q.Clear();
                return 0;
            }
            catch (AccountStoreUnavailableException)
            {
                return q.Count; // kept here, and counted here, until the store is back
            }
        }
    }

    private static CounterKey Key(string user) => new(Kind, user.ToLowerInvariant());

    private void Expire(Queue<DateTimeOffset> q)
    {
        var cutoff = _time.GetUtcNow() - Window;
        while (q.Count > 0 && q.Peek() <= cutoff)
            q.Dequeue();
    }
}
