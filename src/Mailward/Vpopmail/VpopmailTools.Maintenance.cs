// vpopbull and vdeloldusers with vpopmail's flags, over `mailward bulletin` and `mailward user
// prune`. Where the original's flag cannot mean the same here it is accepted and the difference said.
using Mailward.Cli;

namespace Mailward.Vpopmail;

public static partial class VpopmailTools
{
    private const string UsageVpopbull = """
        usage: vpopbull [options] -f [email_file] [virtual_domain] [...]
               -v (print version number)
               -V (verbose: print each address that has the message)
               -f email_file (file with message contents)
               -e exclude_email_addr_file (list of addresses to exclude)
               -n (don't mail; list the accounts that would get it)
               -c (default, copy file)
               -h (hard links: accepted; every user gets a copy of its own)
               -s (symbolic links: accepted; every user gets a copy of its own)
        no domain: every domain. A re-run after an interruption resumes: nobody gets a second copy.
        """;

    private const string UsageVdeloldusers = """
        usage: vdeloldusers [options]
        options: -a age_in_days (users with no login for this many days; default 180)
                 -v (print version number and exit)
                 -d domain (process only this domain)
                 -e (process every domain)
                 -D (actually delete users; no users are deleted without this option)
                 -V (verbose: print the old users)
                 -x file (addresses, one a line, never to delete; mailward's addition)
        never postmaster, abuse or a system admin; a user who never logged in counts from its creation.
        """;

    /// <summary>vpopbull: -f FILE to the domains named (all when none), -e exclude file, -n lists, -V verbose.</summary>
    private static async Task<int> Vpopbull(Getopt.Result r, CliContext ctx)
    {
        foreach (var link in "hs".Where(r.Has))
            ctx.Error.WriteLine($"vpopbull: -{link} ignored: every user gets a copy of its own, written safely (a link would share one file among mailboxes)");
        if (!r.Has('f') && !r.Has('n'))
            throw new UsageException("email_file not specified (-f)");
        var domains = r.Operands.Count == 0 ? null : r.Operands;
        return await BulletinCommand.RunAsync(ctx, new BulletinRequest(r.Value('f') ?? "", domains, r.Value('e'),
            DryRun: r.Has('n'), Verbose: r.Has('V')));
    }

    /// <summary>vdeloldusers: -a days, -d domain or -e every domain, -D delete, -V print them, -x exclude file.</summary>
    private static async Task<int> Vdeloldusers(Getopt.Result r, CliContext ctx)
    {
        if (r.Has('v') && r.Options.Count == 1)
            return 0; // -v alone: the version was printed; vdeloldusers exits
        NoMoreOperands(r, 0);
        if (!r.Has('e') && !r.Has('d'))
            throw new UsageException("you must supply either the -e or -d [domain] options");
        var days = UserPruneCommand.DefaultDays;
        if (r.Has('a') && !int.TryParse(r.Value('a'), out days))
            throw new UsageException($"-a takes a number of days, not '{r.Value('a')}'");
        var (found, _) = await UserPruneCommand.FindAsync(ctx, days, r.Has('e') ? null : [r.Value('d')!], r.Value('x'));
        if (r.Has('V'))
            foreach (var u in found)
                ctx.Out.WriteLine(u.User.Address);
        var errors = r.Has('D') ? await UserPruneCommand.DeleteAsync(ctx, found) : [];
        foreach (var (address, e) in errors)
            ctx.Error.WriteLine($"vdeloldusers: {address}: {e.Message}");
        if (found.Count == 0)
            ctx.Out.WriteLine("no old users found");
        else if (!r.Has('D'))
        {
            ctx.Out.WriteLine(" ** no users were deleted  **");
            ctx.Out.WriteLine(" ** use -D to delete users **");
        }
        return errors.Count == 0 ? 0 : (int)errors.Values.First().Error;
    }
}
