// mailward relay allow|deny|del|list (client-address rules, qmail's tcp.smtp) and
// mailward ipmap add|del|list (server address to domain, vipmap).
using System.CommandLine;
using Mailward.Core.Accounts;

namespace Mailward.Cli;

internal static class NetworkCommands
{
    public static Command BuildRelay(CliContext ctx)
    {
        var relay = new Command("relay", "Which client addresses may relay without authentication (most specific rule wins).");
        foreach (var (name, action, text) in new[]
                 {
                     ("allow", RelayAction.Allow, "Let clients from this address or CIDR network relay."),
                     ("deny", RelayAction.Deny, "Refuse relaying to clients from this network, even inside an allowed one."),
                 })
        {
            var network = new Argument<string>("network") { Description = "An address or CIDR network, e.g. 192.0.2.0/24 or 2001:db8::/32." };
            var comment = new Option<string>("--comment") { Description = "Why the rule exists." };
            relay.Subcommands.Add(new Command(name, text) { network, comment }.WithAction(async pr =>
            {
                var rule = await ctx.Admin.SetRelayRuleAsync(ctx.Actor, pr.GetValue(network)!, action, pr.GetValue(comment));
                ctx.Out.WriteLine($"{name} {rule.Network}");
            }));
        }
        var delNet = new Argument<string>("network");
        relay.Subcommands.Add(new Command("del", "Remove the rule for a network.") { delNet }.WithAction(pr =>
            ctx.Admin.DeleteRelayRuleAsync(ctx.Actor, pr.GetValue(delNet)!)));
        relay.Subcommands.Add(new Command("list", "List relay rules as 'allow|deny network comment', then roaming grants as 'roaming address until TIME login' (POP-before-SMTP).").WithAction(async _ =>
        {
            foreach (var r in await ctx.Admin.ListRelayRulesAsync(ctx.Actor))
                ctx.Out.WriteLine($"{r.Action.ToString().ToLowerInvariant()} {r.Network}{(r.Comment.Length > 0 ? " " + r.Comment : "")}");
            foreach (var g in await ctx.Admin.ListRoamingAsync(ctx.Actor))
                ctx.Out.WriteLine($"roaming {g.Address} until {g.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {g.Login}");
        }));
        return relay;
    }

    public static Command BuildIpMap(CliContext ctx)
    {
        var ipmap = new Command("ipmap", "Map a server address to a domain, for logins with a bare user name (vipmap).");
        var addIp = new Argument<string>("address");
        var addDomain = new Argument<string>("domain");
        ipmap.Subcommands.Add(new Command("add", "Map an address to a domain.") { addIp, addDomain }.WithAction(async pr =>
        {
            var e = await ctx.Admin.AddIpMapAsync(ctx.Actor, pr.GetValue(addIp)!, pr.GetValue(addDomain)!);
            ctx.Out.WriteLine($"{e.Address} {e.Domain}");
        }));
        var delIp = new Argument<string>("address");
        var delDomain = new Argument<string?>("domain") { Arity = ArgumentArity.ZeroOrOne };
        ipmap.Subcommands.Add(new Command("del", "Remove an address's mapping.") { delIp, delDomain }.WithAction(pr =>
            ctx.Admin.DeleteIpMapAsync(ctx.Actor, pr.GetValue(delIp)!, pr.GetValue(delDomain))));
        ipmap.Subcommands.Add(new Command("list", "List mappings as 'address domain'.").WithAction(async _ =>
        {
            foreach (var e in await ctx.Admin.ListIpMapAsync(ctx.Actor))
                ctx.Out.WriteLine($"{e.Address} {e.Domain}");
        }));
        return ipmap;
    }
}
