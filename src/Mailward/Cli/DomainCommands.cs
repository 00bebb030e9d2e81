// mailward domain add|del|list|info|alias|limits.
using System.CommandLine;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;

namespace Mailward.Cli;

internal static class DomainCommands
{
    public static Command Build(CliContext ctx)
    {
        var domain = new Command("domain", "Hosted domains: add, delete, list, show, alias domains and limits.");
        domain.Subcommands.Add(Add(ctx));
        domain.Subcommands.Add(Del(ctx));
        domain.Subcommands.Add(new Command("list", "List hosted domains, one per line.").WithAction(async _ =>
        {
            foreach (var d in await ctx.Admin.ListDomainsAsync(ctx.Actor))
                ctx.Out.WriteLine(d.Name);
        }));
        domain.Subcommands.Add(Info(ctx));
        domain.Subcommands.Add(Alias(ctx));
        domain.Subcommands.Add(Limits(ctx));
        return domain;
    }

    private static Command Add(CliContext ctx)
    {
        var name = new Argument<string>("domain") { Description = "The domain (IDNA names are stored as A-labels)." };
        var password = new Argument<string?>("password") { Description = "The postmaster's password.", Arity = ArgumentArity.ZeroOrOne };
        var random = CommandHelpers.RandomOption();
        var hash = CommandHelpers.HashOption();
        var quota = new Option<string>("--quota", "-q") { Description = "The postmaster's quota (NOQUOTA, 50M, 52428800S,1000C)." };
        var catchAll = new Option<string>("--catchall") { Description = "bounce (default), delete, mailbox:USER or forward:ADDRESS." };
        var dir = new Option<string>("--dir", "-d") { Description = "Put the domain's folder under this absolute folder instead of the mail store." };
        var noPostmaster = new Option<bool>("--no-postmaster") { Description = "Create no postmaster account." };
        var cmd = new Command("add", "Add a domain with its postmaster account (vadddomain).")
            { name, password, random, hash, quota, catchAll, dir, noPostmaster };
        return cmd.WithAction(async pr =>
        {
            var noPm = pr.GetValue(noPostmaster);
            PasswordInput? pw = noPm ? null
                : pr.GetValue(password) is null && pr.GetResult(random) is null && pr.GetValue(hash) is null
                    ? new PasswordInput.Random(Core.Passwords.RandomPassword.DefaultLength)
                    : CommandHelpers.ChoosePassword(pr, ctx, password, random, hash);
            var result = await ctx.Admin.AddDomainAsync(ctx.Actor, pr.GetValue(name)!, pw,
                pr.GetValue(catchAll) is { } c ? AccountAdmin.ParseCatchAll(c) : null,
                pr.GetValue(dir), CommandHelpers.ParseQuota(pr.GetValue(quota)), createPostmaster: !noPm);
            ctx.Out.WriteLine($"added domain {result.Domain.Name}");
            CommandHelpers.PrintGenerated(ctx, $"postmaster@{result.Domain.Name}", result.GeneratedPassword);
        });
    }

    private static Command Del(CliContext ctx)
    {
        var name = new Argument<string>("domain");
        return new Command("del", "Delete a domain with all its users, aliases and mail (vdeldomain).") { name }.WithAction(async pr =>
        {
            await ctx.Admin.DeleteDomainAsync(ctx.Actor, pr.GetValue(name)!);
            ctx.Out.WriteLine($"deleted domain {Core.Addresses.DomainName.Normalize(pr.GetValue(name)!)}");
        });
    }

    private static Command Info(CliContext ctx)
    {
        var name = new Argument<string>("domain");
        return new Command("info", "Show a domain (vdominfo).") { name }.WithAction(async pr =>
        {
            var info = await ctx.Admin.GetDomainInfoAsync(ctx.Actor, pr.GetValue(name)!);
            var d = info.Domain;
            ctx.Out.WriteLine($"domain: {d.Name}");
            if (Core.Addresses.DomainName.ToUnicode(d.Name) is var u && u != d.Name)
                ctx.Out.WriteLine($"unicode: {u}");
            ctx.Out.WriteLine($"dir: {info.Folder}");
            ctx.Out.WriteLine($"users: {info.Users}");
            ctx.Out.WriteLine($"aliases: {info.Aliases}");
            ctx.Out.WriteLine($"forwards: {info.Forwards}");
            ctx.Out.WriteLine($"alias domains: {string.Join(" ", info.AliasDomains)}");
            ctx.Out.WriteLine($"catch-all: {d.CatchAll}");
            PrintLimits(ctx, d.Limits);
            ctx.Out.WriteLine($"created: {CommandHelpers.FormatTime(d.CreatedAt)}");
        });
    }

    internal static void PrintLimits(CliContext ctx, DomainLimits l)
    {
        ctx.Out.WriteLine($"max users: {CommandHelpers.FormatLimit(l.MaxUsers)}");
        ctx.Out.WriteLine($"max aliases: {CommandHelpers.FormatLimit(l.MaxAliases)}");
        ctx.Out.WriteLine($"max forwards: {CommandHelpers.FormatLimit(l.MaxForwards)}");
        ctx.Out.WriteLine($"max autoresponders: {CommandHelpers.FormatLimit(l.MaxAutoresponders)}");
        ctx.Out.WriteLine($"max lists: {CommandHelpers.FormatLimit(l.MaxLists)}");
        ctx.Out.WriteLine($"domain quota: {CommandHelpers.Format(l.DomainQuota)}");
        ctx.Out.WriteLine($"default user quota: {CommandHelpers.Format(l.DefaultUserQuota)}");
    }

    private static Command Alias(CliContext ctx)
    {
        var alias = new Argument<string>("alias-domain");
        var real = new Argument<string>("real-domain");
        var add = new Command("add", "Make alias-domain another name of real-domain (vaddaliasdomain).") { alias, real }.WithAction(async pr =>
        {
            await ctx.Admin.AddDomainAliasAsync(ctx.Actor, pr.GetValue(alias)!, pr.GetValue(real)!);
            ctx.Out.WriteLine($"{Core.Addresses.DomainName.Normalize(pr.GetValue(alias)!)} is now an alias of {Core.Addresses.DomainName.Normalize(pr.GetValue(real)!)}");
        });
        var delName = new Argument<string>("alias-domain");
        var del = new Command("del", "Remove an alias domain (its real domain stays).") { delName }.WithAction(pr =>
            ctx.Admin.DeleteDomainAliasAsync(ctx.Actor, pr.GetValue(delName)!));
        var listName = new Argument<string?>("domain") { Arity = ArgumentArity.ZeroOrOne };
        var list = new Command("list", "List alias domains as 'alias real', for one domain or all.") { listName }.WithAction(async pr =>
        {
            foreach (var a in await ctx.Admin.ListDomainAliasesAsync(ctx.Actor, pr.GetValue(listName)))
                ctx.Out.WriteLine($"{a.Alias} {a.Domain}");
        });
        return new Command("alias", "Alias domains: other names for a hosted domain.") { add, del, list };
    }

    private static Command Limits(CliContext ctx)
    {
        var name = new Argument<string>("domain");
        var maxUsers = new Option<int?>("--max-users") { Description = "Most users (-1: unlimited)." };
        var maxAliases = new Option<int?>("--max-aliases") { Description = "Most aliases (-1: unlimited)." };
        var maxForwards = new Option<int?>("--max-forwards") { Description = "Most forwards (-1: unlimited)." };
        var maxAuto = new Option<int?>("--max-autoresponders") { Description = "Most autoresponders (-1: unlimited)." };
        var maxLists = new Option<int?>("--max-lists") { Description = "Most mailing lists (-1: unlimited)." };
        var quota = new Option<string>("--quota") { Description = "Quota for the whole domain." };
        var userQuota = new Option<string>("--default-user-quota") { Description = "Quota given to new users." };
        var reset = new Option<bool>("--reset") { Description = "Remove every limit." };
        var cmd = new Command("limits", "Show or set a domain's limits (vmoddomlimits).")
            { name, maxUsers, maxAliases, maxForwards, maxAuto, maxLists, quota, userQuota, reset };
        return cmd.WithAction(async pr =>
        {
            var domainName = pr.GetValue(name)!;
            var d = await ctx.Admin.GetDomainAsync(ctx.Actor, domainName, allowAlias: false);
            Option[] changes = [maxUsers, maxAliases, maxForwards, maxAuto, maxLists, quota, userQuota, reset];
            if (changes.Any(o => pr.GetResult(o) is not null))
            {
                var l = pr.GetValue(reset) ? DomainLimits.None : d.Limits;
                d = await ctx.Admin.SetLimitsAsync(ctx.Actor, domainName, l with
                {
                    MaxUsers = Limit(pr, maxUsers, l.MaxUsers),
                    MaxAliases = Limit(pr, maxAliases, l.MaxAliases),
                    MaxForwards = Limit(pr, maxForwards, l.MaxForwards),
                    MaxAutoresponders = Limit(pr, maxAuto, l.MaxAutoresponders),
                    MaxLists = Limit(pr, maxLists, l.MaxLists),
                    DomainQuota = CommandHelpers.ParseQuota(pr.GetValue(quota)) ?? l.DomainQuota,
                    DefaultUserQuota = CommandHelpers.ParseQuota(pr.GetValue(userQuota)) ?? l.DefaultUserQuota,
                });
            }
            PrintLimits(ctx, d.Limits);
        });
    }

    private static int? Limit(ParseResult pr, Option<int?> option, int? current) =>
        pr.GetValue(option) switch
        {
            null => current,
            < 0 => null,
            var n => n,
        };
}
