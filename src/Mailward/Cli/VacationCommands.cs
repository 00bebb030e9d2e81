// mailward vacation set|show|off|list: autoresponders of users and alias addresses
// (docs/autoresponder.md), through AccountAdmin like every admin face. `user mod --vacation-*`
// (UserCommands) uses the same Change below.
using System.CommandLine;
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;

namespace Mailward.Cli;

internal static class VacationCommands
{
    public static Command Build(CliContext ctx)
    {
        var vacation = new Command("vacation", "Autoresponders (vacation messages) of users and alias addresses (RFC 3834).");
        vacation.Subcommands.Add(Set(ctx));
        var showAddr = new Argument<string>("address");
        vacation.Subcommands.Add(new Command("show", "Show an address's autoresponder.") { showAddr }.WithAction(async pr =>
        {
            var a = await ctx.Admin.GetAutoresponderAsync(ctx.Actor, pr.GetValue(showAddr)!);
            if (a is null)
                return ctx.Done($"{Core.Addresses.MailAddress.Parse(pr.GetValue(showAddr)!)}: no autoresponder");
            Print(ctx, a);
            return 0;
        }));
        var offAddr = new Argument<string>("address");
        vacation.Subcommands.Add(new Command("off", "Remove an address's autoresponder and its memory of answered senders.") { offAddr }.WithAction(async pr =>
        {
            var removed = await ctx.Admin.DeleteAutoresponderAsync(ctx.Actor, pr.GetValue(offAddr)!);
            var a = Core.Addresses.MailAddress.Parse(pr.GetValue(offAddr)!);
            ctx.Out.WriteLine(removed ? $"{a}: autoresponder removed" : $"{a}: no autoresponder");
        }));
        var listDomain = new Argument<string>("domain");
        vacation.Subcommands.Add(new Command("list", "List a domain's autoresponders: address, state, subject.") { listDomain }.WithAction(async pr =>
        {
            foreach (var a in await ctx.Admin.ListAutorespondersAsync(ctx.Actor, pr.GetValue(listDomain)!))
                ctx.Out.WriteLine($"{a.Address}\t{State(a)}\t{a.Subject}");
        }));
        return vacation;
    }

    private static Command Set(CliContext ctx)
    {
        var address = new Argument<string>("address") { Description = "user@domain or an alias address" };
        var text = new Option<string>("--text", "-t") { Description = "The answer's text." };
        var textFile = new Option<string>("--text-file", "-f") { Description = "Read the text from this file (UTF-8); - reads standard input." };
        var subject = new Option<string>("--subject", "-s") { Description = $"Subject after \"Auto: \" when the message answered has none (default: {AutoresponderLimits.DefaultSubject})." };
        var start = new Option<string>("--start") { Description = "Answer from this time (2026-12-24 or 2026-12-24T08:00Z, UTC); none: now." };
        var end = new Option<string>("--end") { Description = "Answer until this time (same forms; a date means its midnight); none: until turned off." };
        var noStart = new Option<bool>("--no-start") { Description = "Clear a stored start." };
        var noEnd = new Option<bool>("--no-end") { Description = "Clear a stored end." };
        var interval = new Option<int?>("--interval", "-i") { Description = "Answer one sender at most once in this many days (1-365; default Autoresponder:DefaultIntervalDays)." };
        var noDeliver = new Option<bool>("--no-deliver") { Description = "Answer only: do not keep the mail (while the autoresponder acts)." };
        var deliver = new Option<bool>("--deliver") { Description = "Keep the mail as well as answering (the default)." };
        var cmd = new Command("set", "Add or change an address's autoresponder; what is not given keeps its value.")
        {
            address, text, textFile, subject, start, end, noStart, noEnd, interval, noDeliver, deliver,
        };
        return cmd.WithAction(async pr =>
        {
            var t = pr.GetValue(text);
            if (pr.GetValue(textFile) is { } file)
            {
                if (t is not null)
                    throw new UsageException("give --text or --text-file, not both");
                t = file == "-" ? await ctx.Console.In.ReadToEndAsync() : await File.ReadAllTextAsync(file);
            }
            if (pr.GetValue(noDeliver) && pr.GetValue(deliver))
                throw new UsageException("give --deliver or --no-deliver, not both");
            var change = new AutoresponderChange
            {
                Text = t,
                Subject = pr.GetValue(subject),
                StartsAt = ParseTime(pr.GetValue(start), "--start"),
                EndsAt = ParseTime(pr.GetValue(end), "--end"),
                ClearStart = pr.GetValue(noStart),
                ClearEnd = pr.GetValue(noEnd),
                IntervalDays = pr.GetValue(interval),
                Deliver = pr.GetValue(noDeliver) ? false : pr.GetValue(deliver) ? true : null,
            };
            var a = await ctx.Admin.SetAutoresponderAsync(ctx.Actor, pr.GetValue(address)!, change);
            ctx.Out.WriteLine($"{a.Address}: autoresponder {State(a)}");
        });
    }

    /// <summary>A time as the options take it: a date (its midnight) or a date and time, UTC unless an offset is given.</summary>
    internal static DateTimeOffset? ParseTime(string? text, string option) =>
        text is null ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t
        : throw new AccountException(AccountError.InvalidArgument, $"{option}: not a time: {text} (2026-12-24 or 2026-12-24T08:00Z)");

    private static string State(AutoresponderView a) =>
        a.ActiveNow ? "on"
        : a.StartsAt is { } s && s > DateTimeOffset.UtcNow ? $"starts {CommandHelpers.FormatTime(s)}"
        : $"ended {CommandHelpers.FormatTime(a.EndsAt ?? a.UpdatedAt)}";

    internal static void Print(CliContext ctx, AutoresponderView a)
    {
        ctx.Out.WriteLine($"address: {a.Address}");
        ctx.Out.WriteLine($"state: {State(a)}");
        ctx.Out.WriteLine($"subject: {a.Subject}");
        ctx.Out.WriteLine($"start: {(a.StartsAt is { } s ? CommandHelpers.FormatTime(s) : "none")}");
        ctx.Out.WriteLine($"end: {(a.EndsAt is { } e ? CommandHelpers.FormatTime(e) : "none")}");
        ctx.Out.WriteLine($"interval: {a.IntervalDays} days");
        ctx.Out.WriteLine($"deliver: {(a.Deliver ? "yes" : "no")}");
        ctx.Out.WriteLine($"senders remembered: {a.RememberedSenders}");
        ctx.Out.WriteLine($"changed: {CommandHelpers.FormatTime(a.UpdatedAt)}");
        ctx.Out.WriteLine("text:");
        ctx.Out.WriteLine(a.Text.TrimEnd('\n'));
    }
}
