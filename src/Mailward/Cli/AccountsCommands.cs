// mailward accounts copy --to TARGET: the account store this data folder uses (Accounts:Provider)
// copied into another, SQLite or PostgreSQL (vpopmail's vconvert): the way from one node to several,
// and back. Every table row for row, counts verified; safe to re-run.
using System.CommandLine;
using System.Diagnostics;
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Postgres;

namespace Mailward.Cli;

internal static class AccountsCommands
{
    public static Command Build(CliContext ctx)
    {
        var to = new Option<string>("--to")
        {
            Description = "The store to fill: postgres:CONNECTION (Npgsql's Host=...;Database=...;Username=...), sqlite:PATH, or a path to a SQLite file.",
            Required = true,
        };
        var copy = new Command("copy", "Copy every domain, user, password hash, alias, limit, flag, relay rule, IP map, roaming grant, autoresponder and greylisting row into another store, then verify the counts. A target that holds an earlier copy is replaced; one that holds other domains is refused.")
        {
            to,
        };
        copy.SetAction(parse =>
        {
            var source = ctx.AccountStore;
            var clock = Stopwatch.StartNew();
            using var target = OpenTarget(parse.GetValue(to)!);
            var report = source.CopyTo(target);
            foreach (var t in report)
                ctx.Out.WriteLine($"{t.Table}: {t.TargetRows} rows");
            ctx.Out.WriteLine($"copied {report.Sum(t => t.TargetRows)} rows in {report.Count} tables in {clock.Elapsed.TotalSeconds:0.0} s; every count matches the source");
            return 0;
        });
        return new Command("accounts", "The account store as a whole: copy it between SQLite and PostgreSQL.") { copy };
    }

    /// <summary>The target store named by --to (made and migrated when new).</summary>
    internal static SqlAccountStore OpenTarget(string to)
    {
        if (to.StartsWith("postgres:", StringComparison.OrdinalIgnoreCase))
            return new PostgresAccountStore(to["postgres:".Length..]);
        var path = to.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase) ? to["sqlite:".Length..] : to;
        if (path.Length == 0)
            throw new AccountException(AccountError.InvalidArgument, "--to names no store: postgres:CONNECTION or sqlite:PATH");
        return new SqliteAccountStore($"Data Source={Path.GetFullPath(path)}");
    }
}
