// Counts what qmailanalog's matchup + z-scripts counted, from the events of the log read in time
// order (docs/log-format.md, "What mailward stats counts"): a queued message is remembered by its
// queue id until its `done` line, so each delivery attempt is tied to its sender, user and size.
namespace Mailward.Core.Statistics;

public sealed class MailStatistics(DateTimeOffset? since = null, DateTimeOffset? until = null)
{
    /// <summary>A message between its queued line and its done line.</summary>
    private sealed class InFlight(string sender, long size, string user)
    {
        public string Sender { get; } = sender;
        public long Size { get; } = size;
        public string User { get; } = user;
        public int Attempts { get; set; }
    }

    /// <summary>A row of the senders and suids tables (zsenders, zsuids).</summary>
    public sealed class SenderRow
    {
        public long Messages { get; set; }
        public long Bytes { get; set; }
        public long SuccessBytes { get; set; }
        public long RecipientBytes { get; set; }
        public long Recipients { get; set; }
        public long Tries { get; set; }
        public double XDelay { get; set; }
    }

    /// <summary>A row of the recipients and domains tables (zrecipients, zrhosts).</summary>
    public sealed class RecipientRow
    {
        public long Deliveries => Successes + Failures;
        public long Successes { get; set; }
        public long Failures { get; set; }
        public long Deferrals { get; set; }
        public long Tries => Successes + Failures + Deferrals;
        public long SuccessBytes { get; set; }
        public double XDelay { get; set; }
    }

    /// <summary>A row of the failures and deferrals tables (zfailures, zdeferrals).</summary>
    public sealed class ReasonRow
    {
        public long Deliveries { get; set; }
        public double XDelay { get; set; }
    }

    /// <summary>A row of the refusals at the door: messages (after DATA) and recipients (at RCPT).</summary>
    public sealed class RefusalRow
    {
        public long Messages { get; set; }
        public long Recipients { get; set; }
    }

    private readonly Dictionary<string, InFlight> _inFlight = new(StringComparer.Ordinal);
    private readonly List<double> _ddelays = [];

    public DateTimeOffset? Since { get; } = since;
    public DateTimeOffset? Until { get; } = until;
    public long LinesRead { get; set; }
    public long FilesRead { get; set; }
    public DateTimeOffset? First { get; private set; }
    public DateTimeOffset? Last { get; private set; }

    public long MessagesQueued { get; private set; }
    public long BytesQueued { get; private set; }
    public long RecipientsQueued { get; private set; }
    public long MessagesRefused { get; private set; }
    public long RecipientsRefused { get; private set; }

    public long Completed { get; private set; }
    public long CompletedRecipients { get; private set; }
    public long CompletedAttempts { get; private set; }
    public long CompletedBytes { get; private set; }
    public long CompletedBytesBySuccess { get; private set; }
    public double TotalQTime { get; private set; }

    public long Successes { get; private set; }
    public long Failures { get; private set; }
    public long Deferrals { get; private set; }
    public long Attempts => Successes + Failures + Deferrals;
    public long LocalAttempts { get; private set; }
    public long RemoteAttempts { get; private set; }
    public double TotalDDelay { get; private set; }
    public double TotalXDelay { get; private set; }

    public Dictionary<string, ReasonRow> FailureReasons { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, ReasonRow> DeferralReasons { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, RefusalRow> RefusalReasons { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, SenderRow> Senders { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, SenderRow> Suids { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, RecipientRow> Recipients { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, RecipientRow> Domains { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The time the counted lines span, in days (at least a second, as zoverall divides by it).</summary>
    public double SpanDays => First is { } f && Last is { } l ? Math.Max((l - f).TotalSeconds, 1) / 86400 : 0;

    /// <summary>Nearest-rank percentile of the delivery delays of successful deliveries, in seconds; 0 with none.</summary>
    public double DDelayPercentile(double percent)
    {
        if (_ddelays.Count == 0)
            return 0;
        _ddelays.Sort();
        var rank = (int)Math.Ceiling(percent / 100 * _ddelays.Count);
        return _ddelays[Math.Clamp(rank - 1, 0, _ddelays.Count - 1)];
    }

    private bool InWindow(DateTimeOffset at) => (Since is not { } s || at >= s) && (Until is not { } u || at < u);

    /// <summary>Takes one event; events must come in the order they were logged.</summary>
    public void Add(MailLogEvent e)
    {
        var counted = InWindow(e.At);
        if (counted)
        {
            First ??= e.At;
            Last = e.At;
        }
        switch (e)
        {
            case QueuedEvent q:
                _inFlight[q.QueueId] = new InFlight(q.Sender, Math.Max(q.Size, 0), SuidOf(q));
                if (!counted)
                    return;
                MessagesQueued++;
                BytesQueued += Math.Max(q.Size, 0);
                RecipientsQueued += q.Recipients;
                foreach (var row in new[] { Row(Senders, SenderName(q.Sender)), Row(Suids, SuidOf(q)) })
                {
                    row.Messages++;
                    row.Bytes += Math.Max(q.Size, 0);
                    row.RecipientBytes += Math.Max(q.Size, 0) * q.Recipients;
                    row.Recipients += q.Recipients;
                }
                break;
            case AttemptEvent a:
                Attempt(a, counted);
                break;
            case DoneEvent d:
                _inFlight.Remove(d.QueueId, out var done);
                if (!counted)
                    return;
                Completed++;
                CompletedRecipients += d.Recipients;
                CompletedAttempts += done?.Attempts ?? 0;
                CompletedBytes += done?.Size ?? 0;
                CompletedBytesBySuccess += (done?.Size ?? 0) * d.Delivered;
                TotalQTime += d.QTime;
                break;
            case DeletedEvent x:
                _inFlight.Remove(x.QueueId);
                break;
            case RefusedEvent r when counted:
                var refusal = Row(RefusalReasons, r.Reason);
                if (r.WholeMessage)
                {
                    MessagesRefused++;
                    refusal.Messages++;
                }
                else
                {
                    RecipientsRefused++;
                    refusal.Recipients++;
                }
                break;
        }
    }

    private void Attempt(AttemptEvent a, bool counted)
    {
        _inFlight.TryGetValue(a.QueueId, out var message);
        if (message is not null)
            message.Attempts++;
        if (!counted)
            return;
        var size = a.Size >= 0 ? a.Size : message?.Size ?? 0;
        var xdelay = Math.Max(a.XDelay, 0);
        TotalXDelay += xdelay;
        if (a.Channel == "local")
            LocalAttempts++;
        else
            RemoteAttempts++;
        var recipient = Row(Recipients, a.Recipient);
        var domain = Row(Domains, a.Recipient.LastIndexOf('@') is var at and >= 0 ? a.Recipient[(at + 1)..].ToLowerInvariant() : "");
        var delivered = a.Result == "delivered";
        switch (a.Result)
        {
            case "delivered":
                Successes++;
                TotalDDelay += a.Delay;
                _ddelays.Add(a.Delay);
                recipient.Successes++;
                domain.Successes++;
                recipient.SuccessBytes += size;
                domain.SuccessBytes += size;
                break;
            case "failed":
                Failures++;
                recipient.Failures++;
                domain.Failures++;
                Reason(FailureReasons, a.Detail, xdelay);
                break;
            default:
                Deferrals++;
                recipient.Deferrals++;
                domain.Deferrals++;
                Reason(DeferralReasons, a.Detail, xdelay);
                break;
        }
        recipient.XDelay += xdelay;
        domain.XDelay += xdelay;
        // A message queued before the first line read has an unknown sender.
        foreach (var row in new[] { Row(Senders, message is null ? "?" : SenderName(message.Sender)), Row(Suids, message?.User ?? "?") })
        {
            row.Tries++;
            row.XDelay += xdelay;
            if (delivered)
                row.SuccessBytes += size;
        }
    }

    private static void Reason(Dictionary<string, ReasonRow> table, string detail, double xdelay)
    {
        var row = Row(table, detail.Length > 0 ? detail : "(none given)");
        row.Deliveries++;
        row.XDelay += xdelay;
    }

    private static string SenderName(string sender) => sender.Length == 0 ? "<>" : sender;

    /// <summary>Who put the message in (qmail's uid): the authenticated or roaming user, else how it came in.</summary>
    private static string SuidOf(QueuedEvent q) => q.User is { Length: > 0 } u && u != "-" ? u
        : q.Protocol.Contains("SMTP", StringComparison.OrdinalIgnoreCase) ? "smtp" : q.Protocol.ToLowerInvariant();

    private static T Row<T>(Dictionary<string, T> table, string key) where T : new()
    {
        if (!table.TryGetValue(key, out var row))
            table[key] = row = new T();
        return row;
    }
}
