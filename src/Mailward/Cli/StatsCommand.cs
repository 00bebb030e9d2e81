// mailward stats [--since T] [--until T] [--log DIR|FILE|-...] [--json] [REPORT...]: qmailanalog's
// reports (zoverall, zfailures, zdeferrals, zsenders, zrecipients, zrhosts, zsuids) from the
// server's own log files (docs/log-format.md), as aligned tables or JSON.
using System.CommandLine;
using System.Globalization;
using Mailward.Core.Statistics;

namespace Mailward.Cli;

internal static class StatsCommand
{
    public static Command Build(CliContext ctx)
    {
        var since = new Option<string>("--since") { Description = "Count lines from this time: 2026-11-28, 2026-11-28T06:00Z, today, yesterday, or an age such as 24h or 7d (UTC)." };
        var until = new Option<string>("--until") { Description = "Count lines before this time (same forms; a date means its midnight, so --since 2026-11-28 --until 2026-11-29 is one day)." };
        var log = new Option<string[]>("--log")
        {
            // Repeated for several (--log a --log b), so the reports after it are not taken for files.
            Description = "A log folder or file to read (repeatable), - for standard input (journalctl -o cat). Default: Log:Path (DATA/log).",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables." };
        var reports = new Argument<string[]>("REPORT")
        {
            Description = "overall (the default), failures, deferrals, senders, recipients, domains, suids; several in turn.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        reports.AcceptOnlyFromAmong([.. StatsReport.Names]);
        var cmd = new Command("stats", "Delivery statistics from the log files, as qmailanalog's reports: messages, bytes, recipients, attempts, delays, failures and deferrals by reason, senders, recipients, domains.")
        {
            since, until, log, json, reports,
        };
        cmd.SetAction(parse =>
        {
            var now = TimeProvider.System.GetUtcNow();
            var from = ParseTime(parse.GetValue(since), now, "--since");
            var to = ParseTime(parse.GetValue(until), now, "--until");
            var sources = parse.GetValue(log) is { Length: > 0 } given ? given : [ctx.Data.Settings.LogPath];
            IReadOnlyList<string> files;
            try
            {
                files = MailLogReader.Files(sources, from, to);
            }
            catch (FileNotFoundException e)
            {
                return ctx.Fail(e.Message + (parse.GetValue(log) is { Length: > 0 } ? "" : " (the server writes there with Log:Target=file or both)"), MailwardCli.ExitUsage);
            }
            var stats = new MailStatistics(from, to);
            MailLogReader.Read(files, stats, ctx.Console.In);
            var names = parse.GetValue(reports) is { Length: > 0 } r ? r : ["overall"];
            if (parse.GetValue(json))
            {
                using var buffer = new MemoryStream();
                StatsReport.WriteJson(stats, names, buffer);
                ctx.Out.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            }
            else
                StatsReport.WriteText(stats, names, ctx.Out);
            return 0;
        });
        return cmd;
    }

    /// <summary>A UTC time: an ISO date or date and time, today, yesterday, or an age (30m, 24h, 7d) before now.</summary>
    internal static DateTimeOffset? ParseTime(string? text, DateTimeOffset now, string option)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        var t = text.Trim();
        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        if (t.Equals("today", StringComparison.OrdinalIgnoreCase))
            return today;
        if (t.Equals("yesterday", StringComparison.OrdinalIgnoreCase))
            return today.AddDays(-1);
        if (t.Length > 1 && "smhd".Contains(char.ToLowerInvariant(t[^1]), StringComparison.Ordinal)
            && double.TryParse(t.AsSpan(0, t.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
            return now - char.ToLowerInvariant(t[^1]) switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
        if (DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            return at;
        throw new UsageException($"{option} {t}: not a time (2026-11-28, 2026-11-28T06:00Z, today, yesterday, 24h, 7d)");
    }
}
