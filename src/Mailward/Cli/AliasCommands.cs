// mailward alias add|del|list|catchall: forwards and delivery lines (vpopmail's valias) and the
// domain catch-all.
using System.CommandLine;
using Mailward.Core.Admin;

namespace Mailward.Cli;

internal static class AliasCommands
{
    public static Command Build(CliContext ctx)
    {
        var alias = new Command("alias", "Aliases and forwards (delivery lines per address) and the domain catch-all.");

        var addAddr = new Argument<string>("address");
        var addLines = new Argument<string[]>("line") { Arity = ArgumentArity.OneOrMore, Description = "&address (or a bare address), /path/Maildir/, /path/mbox or |program." };
        alias.Subcommands.Add(new Command("add", "Add delivery lines to an address (valias -i).") { addAddr, addLines }.WithAction(async pr =>
        {
            foreach (var line in pr.GetValue(addLines)!)
                ctx.Out.WriteLine($"{Core.Addresses.MailAddress.Parse(pr.GetValue(addAddr)!)} {await ctx.Admin.AddAliasLineAsync(ctx.Actor, pr.GetValue(addAddr)!, line)}");
        }));

        var delAddr = new Argument<string>("address");
        var delLine = new Argument<string?>("line") { Arity = ArgumentArity.ZeroOrOne, Description = "Only this line; all lines when omitted." };
        alias.Subcommands.Add(new Command("del", "Remove an alias, or one of its lines (valias -d).") { delAddr, delLine }.WithAction(pr =>
            ctx.Admin.DeleteAliasAsync(ctx.Actor, pr.GetValue(delAddr)!, pr.GetValue(delLine))));

        var listTarget = new Argument<string>("domain-or-address");
        alias.Subcommands.Add(new Command("list", "List aliases as 'address line', one line each (valias -s).") { listTarget }.WithAction(async pr =>
        {
            var t = pr.GetValue(listTarget)!;
            var at = t.LastIndexOf('@');
            var domain = at >= 0 ? t[(at + 1)..] : t;
            var only = at >= 0 ? Core.Addresses.MailAddress.Parse(t).Local : null;
            foreach (var a in (await ctx.Admin.ListAliasesAsync(ctx.Actor, domain)).Where(a => only is null || a.Local == only))
                foreach (var line in a.Lines)
                    ctx.Out.WriteLine($"{a.Address} {line}");
        }));

        var caDomain = new Argument<string>("domain");
        var caPolicy = new Argument<string?>("policy") { Arity = ArgumentArity.ZeroOrOne, Description = "bounce, delete, mailbox:USER or forward:ADDRESS; shown when omitted." };
        alias.Subcommands.Add(new Command("catchall", "Show or set what happens to mail for unknown addresses of a domain.") { caDomain, caPolicy }.WithAction(async pr =>
        {
            var d = pr.GetValue(caPolicy) is { } p
                ? await ctx.Admin.SetCatchAllAsync(ctx.Actor, pr.GetValue(caDomain)!, AccountAdmin.ParseCatchAll(p))
                : await ctx.Admin.GetDomainAsync(ctx.Actor, pr.GetValue(caDomain)!, allowAlias: false);
            ctx.Out.WriteLine($"{d.Name} catch-all: {d.CatchAll}");
        }));
        return alias;
    }
}
