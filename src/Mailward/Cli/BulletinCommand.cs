// mailward bulletin FILE [DOMAIN...|--all]: a message file into the Maildir of every user of those
// domains (vpopbull), resumable through its journal (docs/bulletin-format.md); a progress bar on a
// terminal, one summary line otherwise. vpopbull (Vpopmail/) runs the same RunAsync.
using System.CommandLine;
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Core.Bulletins;

namespace Mailward.Cli;

/// <param name="Domains">Null: every domain.</param>
/// <param name="DryRun">List who would get it; send nothing.</param>
/// <param name="Verbose">Print each address that has the bulletin at the end.</param>
/// <param name="Again">Send a finished bulletin's content once more, as a new bulletin.</param>
internal sealed record BulletinRequest(string File, IReadOnlyList<string>? Domains, string? ExcludeFile, bool RespectQuota = false,
    bool DryRun = false, bool Verbose = false, bool Again = false);

internal static class BulletinCommand
{
    public static Command Build(CliContext ctx)
    {
        var file = new Argument<string>("file") { Description = "The message: header fields (From:, Subject:, ...), a blank line, the text." };
        var domains = new Argument<string[]>("domains") { Arity = ArgumentArity.ZeroOrMore, Description = "Domains whose users get it." };
        var all = new Option<bool>("--all") { Description = "Every user of every domain." };
        var exclude = new Option<string>("--exclude", "-e") { Description = "File of addresses (one a line) that do not get it." };
        var quota = new Option<bool>("--respect-quota") { Description = "Skip users whose copy would pass their or their domain's quota (vpopbull ignored quotas)." };
        var dry = new Option<bool>("--dry-run", "-n") { Description = "List who would get it; send nothing." };
        var verbose = new Option<bool>("--verbose", "-V") { Description = "Print every address that has it at the end." };
        var again = new Option<bool>("--again") { Description = "Send a file whose bulletin finished before once more, as a new bulletin." };
        var cmd = new Command("bulletin", "Put a message into the Maildir of every user of some domains (vpopbull); a re-run after a crash resumes without second copies.")
        {
            file, domains, all, exclude, quota, dry, verbose, again,
        };
        return cmd.WithAction(pr =>
        {
            var names = pr.GetValue(domains) ?? [];
            if (names.Length == 0 && !pr.GetValue(all))
                throw new UsageException("name the domains, or --all for every domain");
            if (names.Length > 0 && pr.GetValue(all))
                throw new UsageException("give domains or --all, not both");
            return RunAsync(ctx, new BulletinRequest(pr.GetValue(file)!, names.Length == 0 ? null : names, pr.GetValue(exclude),
                pr.GetValue(quota), pr.GetValue(dry), pr.GetValue(verbose), pr.GetValue(again)));
        });
    }

    public static async Task<int> RunAsync(CliContext ctx, BulletinRequest r)
    {
        var exclude = AddressListFile.Read(r.ExcludeFile);
        var settings = ctx.Data.Settings;
        if (r.DryRun)
        {
            var who = await BulletinAudience.GatherAsync(ctx.Admin, ctx.Actor, r.Domains, exclude, readUsage: false);
            foreach (var u in who.Recipients.Where(u => !u.RefusesMail))
                ctx.Out.WriteLine(u.Address);
            return 0;
        }
        var message = BulletinMessage.Load(r.File, settings.GetInt("Smtp:MaxMessageBytes", 1, int.MaxValue));
        var audience = await BulletinAudience.GatherAsync(ctx.Admin, ctx.Actor, r.Domains, exclude, r.RespectQuota);
        var (start, journal) = BulletinJournal.Open(BulletinJournal.FolderOf(ctx.Data.Path), message.Digest, message.Body.Length, DateTimeOffset.UtcNow, r.Again);
        using (journal)
        {
            var name = Path.GetFileNameWithoutExtension(journal.Path);
            var finishedBefore = journal.FinishedAt;
            if (start == BulletinStart.Resumed)
                ctx.Out.WriteLine($"resuming bulletin {name}: {journal.Delivered.Count} users have it already");
            var bar = ctx.Console.OutputIsTerminal ? new ProgressBar(ctx.Out, "users") : null;
            var options = new BulletinOptions(settings.Hostname, settings.NodeId, r.RespectQuota)
            {
                Parallelism = settings.GetInt("Bulletin:Concurrency", 1, 64),
                BatchSize = settings.GetInt("Bulletin:BatchSize", 1, 4096),
            };
            var summary = BulletinDelivery.Run(message, journal, audience, options, address => MaildirOf(ctx, address), bar is null ? null : bar.Report);
            if (r.Verbose)
                foreach (var u in audience.Recipients.Where(u => journal.Delivered.ContainsKey(u.Address)))
                    ctx.Out.WriteLine(u.Address);
            foreach (var a in summary.OverQuota)
                ctx.Error.WriteLine($"{a}: skipped, the copy would pass a quota (a re-run tries again)");
            foreach (var (a, error) in summary.Failed)
                ctx.Error.WriteLine($"{a}: cannot deliver: {error} (a re-run tries again)");
            if (finishedBefore is { } at && summary.Delivered == 0 && summary.Failed.Count == 0)
            {
                ctx.Out.WriteLine($"bulletin {name}: every user named has it already (finished {CommandHelpers.FormatTime(at)}, {journal.FinishedCount} users); nothing to do (--again sends it once more)");
                return 0;
            }
            var seconds = summary.Elapsed.TotalSeconds;
            ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bulletin {name}: delivered to {summary.Delivered} users, {summary.HadIt} had it already, {summary.Excluded} excluded, " +
                $"{summary.RefusesMail.Count} refuse mail, {summary.OverQuota.Count} over quota, {summary.Failed.Count} failed; " +
                $"{seconds:0.0} s ({(seconds > 0 ? summary.Delivered / seconds : 0):0} users/s){(summary.Finished ? "" : "; not finished: run it again")}"));
            return summary.Failed.Count > 0 ? (int)AccountError.StorageFailed : 0;
        }
    }

    /// <summary>The Maildir of a user an earlier run committed a copy for; null when it is no longer a user.</summary>
    private static string? MaildirOf(CliContext ctx, string address)
    {
        try
        {
            return ctx.Admin.GetUserAsync(ctx.Actor, address).GetAwaiter().GetResult().Maildir;
        }
        catch (AccountException)
        {
            return null;
        }
    }
}
