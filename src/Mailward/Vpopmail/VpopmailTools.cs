// The vpopmail command names with vpopmail's own flags, so existing admin scripts keep working:
// `mailward vadduser joe@example.com PASS`, or a link named vadduser to the mailward program.
// Each tool parses its flags with Getopt and calls the same AccountAdmin operations as the rest.
using Mailward.Cli;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Passwords;

namespace Mailward.Vpopmail;

public static partial class VpopmailTools
{
    /// <param name="HelpOnH">-h prints the usage; false where -h is a flag of the tool's own (vpopbull: hard links).</param>
    private sealed record Tool(string Optstring, string Usage, string Summary, Func<Getopt.Result, CliContext, Task<int>> Run, bool HelpOnH = true);

    private static readonly Dictionary<string, Tool> Tools = new(StringComparer.Ordinal)
    {
        ["vadddomain"] = new("vq:be:u:d:i:g:Or::h", UsageVadddomain, "add a domain and its postmaster", Vadddomain),
        ["vdeldomain"] = new("vfh", "usage: vdeldomain [options] domain\noptions: -v (print version)", "delete a domain", Vdeldomain),
        ["vaddaliasdomain"] = new("vh", "usage: vaddaliasdomain [options] real_domain alias_domain\n(either order: the domain that exists is the real one)", "add an alias domain", Vaddaliasdomain),
        ["vadduser"] = new("vc:nq:e:sdr::h", UsageVadduser, "add a user", Vadduser),
        ["vdeluser"] = new("vh", "usage: vdeluser [options] email_address", "delete a user", Vdeluser),
        ["vpasswd"] = new("vr::e:h", "usage: vpasswd [options] email_address [password]\noptions: -r[len] (random password) -e hash (set an encrypted password)", "set a user's password", Vpasswd),
        ["vchangepw"] = new("vh", "usage: vchangepw (asks for the address, the old password and the new one twice)", "a user changes its own password", Vchangepw),
        ["vsetuserquota"] = new("vh", "usage: vsetuserquota [options] email_address|domain quota\nquota: NOQUOTA, bytes, 50M, or Maildir++ 52428800S,1000C", "set a user's or a domain's users' quota", Vsetuserquota),
        ["vmoduser"] = new("vnxdpswibroaSEuq:c:e:C:h", UsageVmoduser, "change a user's flags, quota, comment or password", Vmoduser),
        ["vuserinfo"] = new("anpugcdqQvlD:Ch", UsageVuserinfo, "show a user", Vuserinfo),
        ["vdominfo"] = new("vanugdth", "usage: vdominfo [options] [domain]\noptions: -a (all, default) -n (name) -u (uid) -g (gid) -d (dir) -t (total users)", "show domains", Vdominfo),
        ["vipmap"] = new("vpadh", "usage: vipmap [options] [ip domain]\noptions: -p (print the map) -a ip domain (add) -d ip domain (delete)", "map server addresses to domains", Vipmap),
        ["vmoddomlimits"] = new("vSDdQ:q:M:m:P:A:F:R:L:g:p:a:f:r:l:u:o:x:z:h", UsageVmoddomlimits, "show or set a domain's limits", Vmoddomlimits),
        ["vpopbull"] = new("vVcshnf:e:", UsageVpopbull, "put a message file into every user's Maildir", Vpopbull, HelpOnH: false),
        ["vdeloldusers"] = new("vVDd:a:ex:h", UsageVdeloldusers, "list or delete users who have not logged in for days", Vdeloldusers),
    };

    public static bool IsTool(string name) => Tools.ContainsKey(name);

    public static IEnumerable<(string Name, string Summary)> Summaries => Tools.Select(t => (t.Key, t.Value.Summary));

    public static async Task<int> RunAsync(string name, IReadOnlyList<string> args, CliContext ctx)
    {
        var tool = Tools[name];
        Getopt.Result parsed;
        try
        {
            parsed = new Getopt(tool.Optstring).Parse(args);
        }
        catch (UsageException e)
        {
            ctx.Error.WriteLine($"{name}: {e.Message}");
            ctx.Error.WriteLine(tool.Usage);
            return MailwardCli.ExitUsage;
        }
        if (tool.HelpOnH ? parsed.Has('h') : args.Count == 0)
        {
            ctx.Out.WriteLine(tool.Usage);
            return 0;
        }
        if (parsed.Has('v'))
            ctx.Out.WriteLine($"version: mailward {typeof(VpopmailTools).Assembly.GetName().Version}");
        try
        {
            return await tool.Run(parsed, ctx);
        }
        catch (UsageException e)
        {
            ctx.Error.WriteLine($"{name}: {e.Message}");
            ctx.Error.WriteLine(tool.Usage);
            return MailwardCli.ExitUsage;
        }
        catch (AccountException e)
        {
            ctx.Error.WriteLine($"{name}: {e.Message}");
            return e.ExitCode();
        }
    }

    private static string Operand(Getopt.Result r, int index, string what) =>
        index < r.Operands.Count ? r.Operands[index] : throw new UsageException($"missing {what}");

    private static void NoMoreOperands(Getopt.Result r, int count)
    {
        if (r.Operands.Count > count)
            throw new UsageException($"unexpected argument: {r.Operands[count]}");
    }

    /// <summary>-r[len]: random password, vpopmail's default length when no number is attached.</summary>
    private static PasswordInput.Random RandomFrom(string? value) =>
        new PasswordInput.Random(value is null ? RandomPassword.DefaultLength
            : int.TryParse(value, out var n) ? n : throw new UsageException($"-r takes a length, not '{value}'"));

    /// <summary>Reports each of <paramref name="letters"/> that was given as accepted but without effect.</summary>
    private static void Ignore(Getopt.Result r, CliContext ctx, string tool, string letters, string why)
    {
        foreach (var option in letters.Where(r.Has))
            ctx.Error.WriteLine($"{tool}: -{option} ignored: {why}");
    }

    /// <summary>
    /// The password of vadddomain, vadduser and vpasswd: -e hash, -n none (where allowed), -r[len]
    /// random, the operand at <paramref name="operand"/>, or asked for on standard input.
    /// </summary>
    private static PasswordInput PasswordFrom(Getopt.Result r, CliContext ctx, string forWhom, int operand, bool allowHash = true, bool allowNone = false) =>
        allowHash && r.Has('e') ? new PasswordInput.Hashed(r.Value('e')!)
        : allowNone && r.Has('n') ? new PasswordInput.NoPassword()
        : r.Has('r') ? RandomFrom(r.Value('r'))
        : r.Operands.Count > operand ? new PasswordInput.Clear(r.Operands[operand])
        : new PasswordInput.Clear(ctx.ReadPassword($"Please enter password for {forWhom}: "));
}
