// Prints MailStatistics as qmailanalog's reports did (zoverall, zfailures, zdeferrals, zsenders,
// zsuids, zrecipients, zrhosts as "domains"): aligned text tables, or one JSON document.
using System.Globalization;
using System.Text.Json;

namespace Mailward.Core.Statistics;

public static class StatsReport
{
    public static readonly IReadOnlyList<string> Names = ["overall", "failures", "deferrals", "senders", "recipients", "domains", "suids"];

    private static string N(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string D(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Window(MailStatistics s) =>
        $"{(s.Since is { } a ? a.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "the first line")} to " +
        $"{(s.Until is { } b ? b.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) : "the last line")}";

    /// <summary>The overall figures as (label, value, JSON name) rows, in the order zoverall printed them.</summary>
    private static List<(string Label, string Value, string Key, double Number)> Overall(MailStatistics s)
    {
        List<(string, string, string, double)> rows = [];
        void Add(string label, string key, long v) => rows.Add((label, N(v), key, v));
        void AddD(string label, string key, double v) => rows.Add((label, D(v), key, Math.Round(v, 6)));
        Add("Messages queued", "messagesQueued", s.MessagesQueued);
        Add("Bytes queued", "bytesQueued", s.BytesQueued);
        Add("Recipients queued", "recipientsQueued", s.RecipientsQueued);
        Add("Messages refused at the door", "messagesRefused", s.MessagesRefused);
        Add("Recipients refused at the door", "recipientsRefused", s.RecipientsRefused);
        Add("Completed messages", "completedMessages", s.Completed);
        Add("Recipients for completed messages", "completedRecipients", s.CompletedRecipients);
        Add("Total delivery attempts for completed messages", "completedAttempts", s.CompletedAttempts);
        AddD("Average delivery attempts per completed message", "averageAttemptsPerCompleted", s.Completed == 0 ? 0 : (double)s.CompletedAttempts / s.Completed);
        Add("Bytes in completed messages", "completedBytes", s.CompletedBytes);
        Add("Bytes weighted by success", "completedBytesBySuccess", s.CompletedBytesBySuccess);
        AddD("Average message qtime (s)", "averageQTimeSeconds", s.Completed == 0 ? 0 : s.TotalQTime / s.Completed);
        Add("Total delivery attempts", "attempts", s.Attempts);
        Add("  success", "successes", s.Successes);
        Add("  failure", "failures", s.Failures);
        Add("  deferral", "deferrals", s.Deferrals);
        Add("  local", "localAttempts", s.LocalAttempts);
        Add("  remote", "remoteAttempts", s.RemoteAttempts);
        AddD("Total ddelay (s)", "totalDDelaySeconds", s.TotalDDelay);
        AddD("Average ddelay per success (s)", "averageDDelaySeconds", s.Successes == 0 ? 0 : s.TotalDDelay / s.Successes);
        AddD("ddelay p50 (s)", "ddelayP50Seconds", s.DDelayPercentile(50));
        AddD("ddelay p90 (s)", "ddelayP90Seconds", s.DDelayPercentile(90));
        AddD("ddelay p99 (s)", "ddelayP99Seconds", s.DDelayPercentile(99));
        AddD("Total xdelay (s)", "totalXDelaySeconds", s.TotalXDelay);
        AddD("Average xdelay per delivery attempt (s)", "averageXDelaySeconds", s.Attempts == 0 ? 0 : s.TotalXDelay / s.Attempts);
        rows.Add(("Time span (days)", s.SpanDays.ToString("0.00000", CultureInfo.InvariantCulture), "spanDays", Math.Round(s.SpanDays, 6)));
        AddD("Average concurrency", "averageConcurrency", s.SpanDays == 0 ? 0 : s.TotalXDelay / (s.SpanDays * 86400));
        return rows;
    }

    private sealed record Table(string Title, string Note, string[] Columns, List<(double[] Numbers, string Name)> Rows, string JsonName);

    private static Table Reasons(string title, string note, string json, Dictionary<string, MailStatistics.ReasonRow> rows) =>
        new(title, note, ["del", "xdelay", "reason"],
            rows.OrderByDescending(r => r.Value.Deliveries).ThenBy(r => r.Key, StringComparer.Ordinal)
                .Select(r => (new double[] { r.Value.Deliveries, r.Value.XDelay }, r.Key)).ToList(), json);

    private static Table Senders(string title, string note, string column, string json, Dictionary<string, MailStatistics.SenderRow> rows) =>
        new(title, note, ["mess", "bytes", "sbytes", "rbytes", "recips", "tries", "xdelay", column],
            rows.OrderByDescending(r => r.Value.Messages).ThenByDescending(r => r.Value.Bytes).ThenBy(r => r.Key, StringComparer.OrdinalIgnoreCase)
                .Select(r => (new double[] { r.Value.Messages, r.Value.Bytes, r.Value.SuccessBytes, r.Value.RecipientBytes, r.Value.Recipients, r.Value.Tries, r.Value.XDelay }, r.Key))
                .ToList(), json);

    private static Table Recipients(string title, string note, string column, string json, Dictionary<string, MailStatistics.RecipientRow> rows) =>
        new(title, note, ["mess", "success", "failure", "deferral", "tries", "sbytes", "xdelay", column],
            rows.OrderByDescending(r => r.Value.Tries).ThenBy(r => r.Key, StringComparer.OrdinalIgnoreCase)
                .Select(r => (new double[] { r.Value.Deliveries, r.Value.Successes, r.Value.Failures, r.Value.Deferrals, r.Value.Tries, r.Value.SuccessBytes, r.Value.XDelay }, r.Key))
                .ToList(), json);

    private static List<Table> Tables(MailStatistics s, string report) => report switch
    {
        "failures" =>
        [
            Reasons("Reasons for failure", "One line per reason for a delivery that failed for good. del: deliveries that ended for this reason; xdelay: their total attempt time (s).", "failures", s.FailureReasons),
            new("Refused at the door", "One line per reason a message (after DATA) or a recipient (at RCPT) was refused before it was queued.", ["msgs", "rcpts", "reason"],
                s.RefusalReasons.OrderByDescending(r => r.Value.Messages + r.Value.Recipients).ThenBy(r => r.Key, StringComparer.Ordinal)
                    .Select(r => (new double[] { r.Value.Messages, r.Value.Recipients }, r.Key)).ToList(), "refusals"),
        ],
        "deferrals" => [Reasons("Reasons for deferral", "One line per reason for a delivery that was deferred (tried again later). del: attempts deferred for this reason; xdelay: their total attempt time (s).", "deferrals", s.DeferralReasons)],
        "senders" => [Senders("Senders", "One line per envelope sender. mess: messages queued; bytes: their bytes; sbytes: bytes delivered successfully; rbytes: bytes times recipients; recips: recipients; tries: delivery attempts; xdelay: their total time (s). ? is a sender whose message was queued before the log read.", "sender", "senders", s.Senders)],
        "suids" => [Senders("Sending users", "One line per user who put mail in: the authenticated (or roaming) user, else how it came in (smtp, bounce). Columns as for senders.", "user", "suids", s.Suids)],
        "recipients" => [Recipients("Recipients", "One line per recipient. mess: deliveries that ended (success plus failure); tries: every attempt; sbytes: bytes delivered; xdelay: total attempt time (s).", "recipient", "recipients", s.Recipients)],
        "domains" => [Recipients("Recipient domains", "One line per recipient domain (qmailanalog's zrhosts). Columns as for recipients.", "domain", "domains", s.Domains)],
        _ => throw new ArgumentException($"unknown report {report}; one of {string.Join(", ", Names)}", nameof(report)),
    };

    /// <summary>The reports named, as text.</summary>
    public static void WriteText(MailStatistics s, IReadOnlyList<string> reports, TextWriter output)
    {
        output.WriteLine($"mailward stats: {Window(s)}; {N(s.LinesRead)} lines in {N(s.FilesRead)} file(s)");
        foreach (var report in reports)
        {
            if (report == "overall")
            {
                output.WriteLine();
                output.WriteLine("Basic statistics");
                output.WriteLine();
                output.WriteLine("qtime is the time a message spent in the queue; ddelay the time from queueing to a successful");
                output.WriteLine("delivery to one recipient; xdelay the time one delivery attempt took. The average concurrency");
                output.WriteLine("is the total xdelay divided by the time span: how busy the deliveries kept the server.");
                output.WriteLine();
                var rows = Overall(s);
                var label = rows.Max(r => r.Label.Length);
                var value = rows.Max(r => r.Value.Length);
                foreach (var r in rows)
                    output.WriteLine($"{(r.Label + ":").PadRight(label + 1)}  {r.Value.PadLeft(value)}");
                continue;
            }
            foreach (var t in Tables(s, report))
            {
                output.WriteLine();
                output.WriteLine(t.Title);
                output.WriteLine();
                output.WriteLine(t.Note);
                output.WriteLine();
                var cells = t.Rows.Select(r => r.Numbers.Select((v, i) => t.Columns[i] == "xdelay" ? D(v) : N((long)v)).Append(r.Name).ToArray()).ToList();
                var widths = t.Columns.Select((c, i) => Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length))).ToArray();
                // Numbers right-aligned, the name last and left-aligned, as the z-scripts printed.
                output.WriteLine(string.Join("  ", t.Columns.Select((c, i) => i == t.Columns.Length - 1 ? c : c.PadLeft(widths[i]))));
                foreach (var row in cells)
                    output.WriteLine(string.Join("  ", row.Select((c, i) => i == row.Length - 1 ? c : c.PadLeft(widths[i]))));
                if (cells.Count == 0)
                    output.WriteLine("(none)");
            }
        }
    }

    /// <summary>The reports named, as one JSON object (numbers as numbers, seconds as decimals).</summary>
    public static void WriteJson(MailStatistics s, IReadOnlyList<string> reports, Stream output)
    {
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        if (s.Since is { } since)
            w.WriteString("since", since.UtcDateTime);
        else
            w.WriteNull("since");
        if (s.Until is { } until)
            w.WriteString("until", until.UtcDateTime);
        else
            w.WriteNull("until");
        w.WriteNumber("files", s.FilesRead);
        w.WriteNumber("lines", s.LinesRead);
        foreach (var report in reports)
        {
            if (report == "overall")
            {
                w.WriteStartObject("overall");
                foreach (var r in Overall(s))
                    w.WriteNumber(r.Key, r.Number);
                w.WriteEndObject();
                continue;
            }
            foreach (var t in Tables(s, report))
            {
                w.WriteStartArray(t.JsonName);
                foreach (var (numbers, name) in t.Rows)
                {
                    w.WriteStartObject();
                    w.WriteString(t.Columns[^1], name);
                    for (var i = 0; i < numbers.Length; i++)
                        if (t.Columns[i] == "xdelay")
                            w.WriteNumber("xdelay", Math.Round(numbers[i], 6));
                        else
                            w.WriteNumber(t.Columns[i], (long)numbers[i]);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
        }
        w.WriteEndObject();
        w.Flush();
        output.WriteByte((byte)'\n');
    }
}
