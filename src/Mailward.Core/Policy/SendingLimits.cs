// Per-user sending limits for authenticated senders: messages per hour and recipients per message,
// from settings with per-domain overrides (Submission:Overrides:<domain>:...). Counted in this
// process over a sliding hour; a node of a cluster counts its own sessions.
using System.Collections.Concurrent;

namespace Mailward.Core.Policy;

public sealed record SendingLimit(int MessagesPerHour, int RecipientsPerMessage);

public sealed class SendingLimits(SendingLimit defaults, IReadOnlyDictionary<string, SendingLimit> perDomain, TimeProvider? time = null)
{
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _sent = new(StringComparer.OrdinalIgnoreCase);

    public SendingLimit For(string domain) => perDomain.TryGetValue(domain, out var l) ? l : defaults;

    /// <summary>True when <paramref name="user"/> may start another message now (0 is unlimited).</summary>
    public bool MayStartMessage(string user, string domain)
    {
        var limit = For(domain).MessagesPerHour;
        if (limit == 0)
            return true;
        var q = _sent.GetOrAdd(user, _ => new Queue<DateTimeOffset>());
        lock (q)
        {
            Expire(q);
            return q.Count < limit;
        }
    }

    /// <summary>Counts a message the queue accepted.</summary>
    public void Sent(string user)
    {
        var q = _sent.GetOrAdd(user, _ => new Queue<DateTimeOffset>());
        lock (q)
        {
            Expire(q);
            q.Enqueue(_time.GetUtcNow());
        }
    }

    private void Expire(Queue<DateTimeOffset> q)
    {
        var cutoff = _time.GetUtcNow() - Window;
        while (q.Count > 0 && q.Peek() <= cutoff)
            q.Dequeue();
    }
}
