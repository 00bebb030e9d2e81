// The log lines `mailward stats` reads, parsed from a LogEntry's message (docs/log-format.md, "The
// lines mailward stats reads"). Lines written before a field was appended parse with it unknown.
using System.Globalization;
using System.Text.RegularExpressions;
using Mailward.Core.Logging;

namespace Mailward.Core.Statistics;

public abstract record MailLogEvent(DateTimeOffset At);

/// <summary>A message entered the queue (2002, or a bounce's DSN from 3002). Size -1: not in the line.</summary>
public sealed record QueuedEvent(DateTimeOffset At, string QueueId, string Sender, int Recipients, long Size, string Protocol, string User) : MailLogEvent(At);

/// <summary>One delivery attempt to one recipient (3000). XDelay and Size are -1 in lines older than them.</summary>
public sealed record AttemptEvent(DateTimeOffset At, string QueueId, string Recipient, string Channel, string Result, string Detail,
    double Delay, double XDelay, long Size) : MailLogEvent(At);

/// <summary>A message left the queue with every recipient done (3005).</summary>
public sealed record DoneEvent(DateTimeOffset At, string QueueId, int Recipients, int Delivered, int Failed, double QTime) : MailLogEvent(At);

/// <summary>A message the admin deleted from the queue (3004).</summary>
public sealed record DeletedEvent(DateTimeOffset At, string QueueId) : MailLogEvent(At);

/// <summary>A recipient (2003) or a whole message (2004) refused at the door.</summary>
public sealed record RefusedEvent(DateTimeOffset At, bool WholeMessage, string Address, string Reason) : MailLogEvent(At);

public static partial class MailLogEvents
{
    // Greedy where a later field is fixed text, so an address or a reply that contains a field's
    // name cannot cut the line short; addresses we accepted carry no '>' outside quotes in practice.
    [GeneratedRegex(@"(?:^|\s)queued id=(\S+) from=<(.*)> rcpts=([0-9]+) size=([0-9]+) proto=(\S+)(?: auth=(\S+))?$")]
    private static partial Regex Queued();

    [GeneratedRegex(@"^delivery id=(\S+) to=<(.*?)> channel=(\S+) result=(\S+) detail=(.*) delay=([0-9.]+)s(?: xdelay=([0-9.]+)s size=([0-9]+))?$")]
    private static partial Regex Attempt();

    [GeneratedRegex(@"^done id=(\S+) rcpts=([0-9]+) delivered=([0-9]+) failed=([0-9]+) qtime=([0-9.]+)s$")]
    private static partial Regex Done();

    [GeneratedRegex(@"^bounce id=(\S+) dsn=(\S+) to=<(.*)> failed=([0-9]+)(?: size=([0-9]+))?$")]
    private static partial Regex Bounce();

    [GeneratedRegex(@"^deleted id=(\S+) by the admin$")]
    private static partial Regex Deleted();

    [GeneratedRegex(@"^smtp \S+ rcpt rejected to=<(.*)> reason=(.*)$")]
    private static partial Regex RecipientRefused();

    [GeneratedRegex(@"^smtp \S+ message refused from=<(.*)> reason=(.*)$")]
    private static partial Regex MessageRefused();

    /// <summary>The event a line records, or null for every other line (sessions, logins, warnings).</summary>
    public static MailLogEvent? Parse(LogEntry e)
    {
        var m = e.Message;
        Match x;
        if (m.StartsWith("delivery id=", StringComparison.Ordinal) && (x = Attempt().Match(m)).Success)
            return new AttemptEvent(e.At, x.Groups[1].Value, x.Groups[2].Value, x.Groups[3].Value, x.Groups[4].Value, x.Groups[5].Value,
                Number(x.Groups[6].Value), x.Groups[7].Success ? Number(x.Groups[7].Value) : -1, x.Groups[8].Success ? Long(x.Groups[8].Value) : -1);
        if (m.StartsWith("done id=", StringComparison.Ordinal) && (x = Done().Match(m)).Success)
            return new DoneEvent(e.At, x.Groups[1].Value, Int(x.Groups[2].Value), Int(x.Groups[3].Value), Int(x.Groups[4].Value), Number(x.Groups[5].Value));
        if (m.StartsWith("bounce id=", StringComparison.Ordinal) && (x = Bounce().Match(m)).Success)
            return new QueuedEvent(e.At, x.Groups[2].Value, "", 1, x.Groups[5].Success ? Long(x.Groups[5].Value) : -1, "bounce", "-");
        if (m.StartsWith("deleted id=", StringComparison.Ordinal) && (x = Deleted().Match(m)).Success)
            return new DeletedEvent(e.At, x.Groups[1].Value);
        if (m.Contains(" queued id=", StringComparison.Ordinal) && (x = Queued().Match(m)).Success)
            return new QueuedEvent(e.At, x.Groups[1].Value, x.Groups[2].Value, Int(x.Groups[3].Value), Long(x.Groups[4].Value), x.Groups[5].Value,
                x.Groups[6].Success ? x.Groups[6].Value : "-");
        if (m.Contains(" rcpt rejected ", StringComparison.Ordinal) && (x = RecipientRefused().Match(m)).Success)
            return new RefusedEvent(e.At, false, x.Groups[1].Value, x.Groups[2].Value);
        if (m.Contains(" message refused ", StringComparison.Ordinal) && (x = MessageRefused().Match(m)).Success)
            return new RefusedEvent(e.At, true, x.Groups[1].Value, x.Groups[2].Value);
        return null;
    }

    private static double Number(string s) => double.Parse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);

    private static long Long(string s) => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;

    private static int Int(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
}
