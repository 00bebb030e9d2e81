// mailward user prune --days N [--delete] [-e FILE] [--json] [DOMAIN...]: users not seen for N days
// (last login of any service; never logged in: since created), as a table or JSON; a dry run unless
// --delete, which deletes each through the same AccountAdmin path as `user del` (vdeloldusers).
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;

namespace Mailward.Cli;

internal static class UserPruneCommand
{
    /// <summary>vdeloldusers' default age: six months.</summary>
    public const int DefaultDays = 180;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Build(CliContext ctx)
    {
        var days = new Option<int>("--days", "-a") { Description = $"Idle for more than this many days (default {DefaultDays}).", DefaultValueFactory = _ => DefaultDays };
        var delete = new Option<bool>("--delete", "-D") { Description = "Delete them (with their mail); without it nothing is deleted." };
        var exclude = new Option<string>("--exclude", "-e") { Description = "File of addresses (one a line) never to delete." };
        var json = new Option<bool>("--json") { Description = "The report as JSON." };
        var domains = new Argument<string[]>("domains") { Arity = ArgumentArity.ZeroOrMore, Description = "Only these domains (default: every domain)." };
        var cmd = new Command("prune", "List, or delete with --delete, users who have not logged in for N days (vdeloldusers). "
            + "Never postmaster, abuse or a system admin; a user who never logged in counts from its creation.")
        {
            days, delete, exclude, json, domains,
        };
        return cmd.WithAction(async pr =>
        {
            var names = pr.GetValue(domains) ?? [];
            var (found, cutoff) = await FindAsync(ctx, pr.GetValue(days), names.Length == 0 ? null : names, pr.GetValue(exclude));
            var deleteThem = pr.GetValue(delete);
            var errors = deleteThem ? await DeleteAsync(ctx, found) : [];
            if (pr.GetValue(json))
                PrintJson(ctx, pr.GetValue(days), cutoff, deleteThem, found, errors);
            else
                PrintTable(ctx, pr.GetValue(days), cutoff, deleteThem, found, errors);
            return errors.Count == 0 ? 0 : (int)errors.Values.First().Error;
        });
    }

    public static async Task<(IReadOnlyList<InactiveUser> Found, DateTimeOffset Cutoff)> FindAsync(CliContext ctx, int days, IReadOnlyList<string>? domains, string? excludeFile)
    {
        if (days < 0)
            throw new UsageException($"the number of days must not be negative: {days}");
        var exclude = AddressListFile.Read(excludeFile);
        var cutoff = DateTimeOffset.UtcNow - TimeSpan.FromDays(days);
        return (await ctx.Admin.FindInactiveUsersAsync(ctx.Actor, cutoff, domains, exclude), cutoff);
    }

    /// <summary>Deletes each one as `user del` does; the failures by address (the others are gone).</summary>
    public static async Task<Dictionary<string, AccountException>> DeleteAsync(CliContext ctx, IReadOnlyList<InactiveUser> users)
    {
        var errors = new Dictionary<string, AccountException>(StringComparer.Ordinal);
        foreach (var u in users)
        {
            try
            {
                await ctx.Admin.DeleteUserAsync(ctx.Actor, u.User.Address);
            }
            catch (AccountException e)
            {
                errors[u.User.Address] = e;
            }
        }
        return errors;
    }

    private static int IdleDays(InactiveUser u) => (int)(DateTimeOffset.UtcNow - u.LastActive).TotalDays;

    private static string Basis(InactiveUser u) => u.User.LastLogin is { } l ? $"{l.Service} login from {l.Address}" : "never logged in: created";

    private static void PrintTable(CliContext ctx, int days, DateTimeOffset cutoff, bool deleted, IReadOnlyList<InactiveUser> found, Dictionary<string, AccountException> errors)
    {
        if (found.Count > 0)
        {
            var width = Math.Max("ADDRESS".Length, found.Max(f => f.User.Address.Length));
            ctx.Out.WriteLine($"{"ADDRESS".PadRight(width)}  {"LAST ACTIVE",-23}  {"IDLE DAYS",9}  BASIS");
            foreach (var f in found)
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{f.User.Address.PadRight(width)}  {CommandHelpers.FormatTime(f.LastActive),-23}  {IdleDays(f),9}  {Basis(f)}"));
        }
        foreach (var (address, e) in errors)
            ctx.Error.WriteLine($"mailward: {address}: not deleted: {e.Message}");
        var what = $"{found.Count} users not active for {days} days (since {CommandHelpers.FormatTime(cutoff)})";
        ctx.Out.WriteLine(deleted ? $"{what}: deleted {found.Count - errors.Count}" : $"{what}: dry run, nothing deleted (--delete deletes them)");
    }

    private static void PrintJson(CliContext ctx, int days, DateTimeOffset cutoff, bool deleted, IReadOnlyList<InactiveUser> found, Dictionary<string, AccountException> errors)
    {
        var report = new
        {
            days,
            cutoff,
            dryRun = !deleted,
            users = found.Select(f => new
            {
                address = f.User.Address,
                lastActive = f.LastActive,
                idleDays = IdleDays(f),
                neverLoggedIn = f.NeverLoggedIn,
                service = f.User.LastLogin?.Service,
                client = f.User.LastLogin?.Address,
                deleted = deleted && !errors.ContainsKey(f.User.Address),
                error = errors.TryGetValue(f.User.Address, out var e) ? e.Message : null,
            }),
        };
        ctx.Out.WriteLine(JsonSerializer.Serialize(report, Indented));
    }
}
