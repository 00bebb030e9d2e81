// mailward user add|del|list|info|passwd|mod|quota|prune (prune: UserPruneCommand).
using System.CommandLine;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.MailStore;

namespace Mailward.Cli;

internal static class UserCommands
{
    public static Command Build(CliContext ctx)
    {
        var user = new Command("user", "Virtual users (mailboxes): add, delete, list, show, passwords, flags and quotas.");
        user.Subcommands.Add(Add(ctx));
        var delAddr = new Argument<string>("address");
        user.Subcommands.Add(new Command("del", "Delete a user and its mail (vdeluser).") { delAddr }.WithAction(async pr =>
        {
            await ctx.Admin.DeleteUserAsync(ctx.Actor, pr.GetValue(delAddr)!);
            ctx.Out.WriteLine($"deleted user {Core.Addresses.MailAddress.Parse(pr.GetValue(delAddr)!)}");
        }));
        var listDomain = new Argument<string>("domain");
        user.Subcommands.Add(new Command("list", "List a domain's users, one address per line.") { listDomain }.WithAction(async pr =>
        {
            foreach (var u in await ctx.Admin.ListUsersAsync(ctx.Actor, pr.GetValue(listDomain)!))
                ctx.Out.WriteLine(u.Address);
        }));
        var infoAddr = new Argument<string>("address");
        user.Subcommands.Add(new Command("info", "Show a user (vuserinfo).") { infoAddr }.WithAction(pr =>
            PrintUserAsync(ctx, pr.GetValue(infoAddr)!)));
        user.Subcommands.Add(Passwd(ctx));
        user.Subcommands.Add(Mod(ctx));
        user.Subcommands.Add(UserPruneCommand.Build(ctx));
        var quotaTarget = new Argument<string>("address-or-domain") { Description = "A user, or a domain to set every user of it." };
        var quotaValue = new Argument<string>("quota") { Description = "NOQUOTA, a size such as 50M, or Maildir++ form 52428800S,1000C." };
        user.Subcommands.Add(new Command("quota", "Set the quota of a user or of every user of a domain (vsetuserquota).") { quotaTarget, quotaValue }
            .WithAction(pr => SetQuotaAsync(ctx, pr.GetValue(quotaTarget)!, pr.GetValue(quotaValue)!)));
        return user;
    }

    internal static async Task SetQuotaAsync(CliContext ctx, string target, string quotaText)
    {
        var quota = Quota.Parse(quotaText);
        if (target.Contains('@', StringComparison.Ordinal) || target.Contains('%', StringComparison.Ordinal))
        {
            await ctx.Admin.SetQuotaAsync(ctx.Actor, target, quota);
            ctx.Out.WriteLine($"quota of {Core.Addresses.MailAddress.Parse(target)} is {CommandHelpers.Format(quota)}");
        }
        else
        {
            var n = await ctx.Admin.SetDomainUsersQuotaAsync(ctx.Actor, target, quota);
            ctx.Out.WriteLine($"quota of {n} users of {Core.Addresses.DomainName.Normalize(target)} is {CommandHelpers.Format(quota)}");
        }
    }

    private static Command Add(CliContext ctx)
    {
        var address = new Argument<string>("address") { Description = "user@domain" };
        var password = new Argument<string?>("password") { Arity = ArgumentArity.ZeroOrOne, Description = "Read from standard input when not given." };
        var random = CommandHelpers.RandomOption();
        var hash = CommandHelpers.HashOption();
        var none = new Option<bool>("--no-password", "-n") { Description = "Create the account without a password: it cannot log in." };
        var comment = new Option<string>("--comment", "-c") { Description = "Full name or comment (gecos)." };
        var quota = new Option<string>("--quota", "-q") { Description = "Quota; default: the domain's default user quota." };
        var cmd = new Command("add", "Add a user with its Maildir (vadduser).") { address, password, random, hash, none, comment, quota };
        return cmd.WithAction(async pr =>
        {
            var pw = CommandHelpers.ChoosePassword(pr, ctx, password, random, hash, none);
            var result = await ctx.Admin.AddUserAsync(ctx.Actor, pr.GetValue(address)!, pw, pr.GetValue(comment), CommandHelpers.ParseQuota(pr.GetValue(quota)));
            ctx.Out.WriteLine($"added user {result.User.Address}");
            CommandHelpers.PrintGenerated(ctx, result.User.Address, result.GeneratedPassword);
        });
    }

    private static Command Passwd(CliContext ctx)
    {
        var address = new Argument<string>("address");
        var password = new Argument<string?>("password") { Arity = ArgumentArity.ZeroOrOne, Description = "Read from standard input when not given." };
        var random = CommandHelpers.RandomOption();
        var hash = CommandHelpers.HashOption();
        return new Command("passwd", "Set a user's password (vpasswd).") { address, password, random, hash }.WithAction(async pr =>
        {
            var generated = await ctx.Admin.SetPasswordAsync(ctx.Actor, pr.GetValue(address)!, CommandHelpers.ChoosePassword(pr, ctx, password, random, hash));
            var a = Core.Addresses.MailAddress.Parse(pr.GetValue(address)!).ToString();
            ctx.Out.WriteLine($"password of {a} changed");
            CommandHelpers.PrintGenerated(ctx, a, generated);
        });
    }

    private static Command Mod(CliContext ctx)
    {
        var address = new Argument<string>("address");
        var set = new Option<string[]>("--set") { Description = $"Set a flag: {string.Join(", ", UserFlagNames.ByName.Keys)}.", AllowMultipleArgumentsPerToken = false };
        var unset = new Option<string[]>("--unset") { Description = "Clear a flag." };
        var clear = new Option<bool>("--clear-flags") { Description = "Clear every flag first (vmoduser -x)." };
        var comment = new Option<string>("--comment", "-c") { Description = "Full name or comment (gecos)." };
        var quota = new Option<string>("--quota", "-q") { Description = "Quota." };
        // The autoresponder of the user (as mailward vacation set/off; docs/autoresponder.md).
        var vText = new Option<string>("--vacation-text") { Description = "Set the user's autoresponder with this text (mailward vacation set)." };
        var vSubject = new Option<string>("--vacation-subject") { Description = "Its subject when the message answered has none." };
        var vStart = new Option<string>("--vacation-start") { Description = "Answer from this time (UTC)." };
        var vEnd = new Option<string>("--vacation-end") { Description = "Answer until this time (UTC)." };
        var vInterval = new Option<int?>("--vacation-interval") { Description = "Answer one sender at most once in this many days." };
        var vOff = new Option<bool>("--vacation-off") { Description = "Remove the user's autoresponder (mailward vacation off)." };
        return new Command("mod", "Change a user's flags, comment, quota or autoresponder (vmoduser).")
        {
            address, set, unset, clear, comment, quota, vText, vSubject, vStart, vEnd, vInterval, vOff,
        }.WithAction(async pr =>
        {
            var vacation = pr.GetValue(vText) is not null || pr.GetValue(vSubject) is not null || pr.GetValue(vStart) is not null
                || pr.GetValue(vEnd) is not null || pr.GetValue(vInterval) is not null;
            if (vacation && pr.GetValue(vOff))
                throw new UsageException("--vacation-off with other --vacation options");
            var userFields = pr.GetValue(set) is { Length: > 0 } || pr.GetValue(unset) is { Length: > 0 } || pr.GetValue(clear)
                || pr.GetValue(comment) is not null || pr.GetValue(quota) is not null;
            if (vacation || pr.GetValue(vOff))
            {
                if (pr.GetValue(vOff))
                    await ctx.Admin.DeleteAutoresponderAsync(ctx.Actor, pr.GetValue(address)!);
                else
                    await ctx.Admin.SetAutoresponderAsync(ctx.Actor, pr.GetValue(address)!, new AutoresponderChange
                    {
                        Text = pr.GetValue(vText),
                        Subject = pr.GetValue(vSubject),
                        StartsAt = VacationCommands.ParseTime(pr.GetValue(vStart), "--vacation-start"),
                        EndsAt = VacationCommands.ParseTime(pr.GetValue(vEnd), "--vacation-end"),
                        IntervalDays = pr.GetValue(vInterval),
                    });
                if (!userFields)
                {
                    var a = await ctx.Admin.GetAutoresponderAsync(ctx.Actor, pr.GetValue(address)!);
                    ctx.Out.WriteLine($"{Core.Addresses.MailAddress.Parse(pr.GetValue(address)!)}: autoresponder {(a is null ? "off" : a.ActiveNow ? "on" : "set")}");
                    return;
                }
            }
            var change = new UserChange
            {
                ClearFlags = pr.GetValue(clear),
                Set = (pr.GetValue(set) ?? []).Aggregate(UserFlags.None, (f, n) => f | UserFlagNames.Parse(n)),
                Unset = (pr.GetValue(unset) ?? []).Aggregate(UserFlags.None, (f, n) => f | UserFlagNames.Parse(n)),
                Gecos = pr.GetValue(comment),
                Quota = CommandHelpers.ParseQuota(pr.GetValue(quota)),
            };
            var u = await ctx.Admin.ModifyUserAsync(ctx.Actor, pr.GetValue(address)!, change);
            ctx.Out.WriteLine($"{u.Address}: flags {UserFlagNames.Format(u.Flags)}");
        });
    }

    /// <summary>user info: the read model, and the hash the command line alone may see (vuserinfo shows it too).</summary>
    private static async Task PrintUserAsync(CliContext ctx, string address)
    {
        var u = await ctx.Admin.GetUserAsync(ctx.Actor, address);
        var secrets = await ctx.Admin.GetUserSecretsAsync(ctx.Actor, address);
        var folder = u.Folder;
        ctx.Out.WriteLine($"name: {u.Address}");
        ctx.Out.WriteLine($"passwd: {secrets.PasswordHash}");
        if (secrets.ClearPassword is not null)
            ctx.Out.WriteLine($"clear passwd: {secrets.ClearPassword}");
        ctx.Out.WriteLine($"comment: {u.Gecos}");
        ctx.Out.WriteLine($"flags: {UserFlagNames.Format(u.Flags)}");
        ctx.Out.WriteLine($"dir: {folder}");
        ctx.Out.WriteLine($"maildir: {u.Maildir}");
        ctx.Out.WriteLine($"quota: {CommandHelpers.Format(u.Quota)}");
        ctx.Out.WriteLine($"created: {CommandHelpers.FormatTime(u.CreatedAt)}");
        ctx.Out.WriteLine(u.LastLogin is { } l
            ? $"last login: {CommandHelpers.FormatTime(l.At)} from {l.Address} ({l.Service})"
            : "last login: never");
        if (u.LegacyHash)
            ctx.Out.WriteLine("password hash: legacy, upgraded at next login");
    }
}
