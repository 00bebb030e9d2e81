// mailward list add|del|domain|info|set|subscribe|unsubscribe|subscribers|moderators|allow|deny|digest|import:
// mailing lists (docs/lists.md) through ListAdmin, the face-independent operations.
using System.CommandLine;
using Mailward.Core.Lists;

namespace Mailward.Cli;

internal static class ListCommands
{
    public static Command Build(CliContext ctx)
    {
        var list = new Command("list", "Mailing lists: team@example.com with team-subscribe@, team-unsubscribe@, ... (docs/lists.md).");

        var addAddress = new Argument<string>("list") { Description = "the list's address, team@example.com" };
        var (addOptions, addApply) = SettingOptions();
        var add = new Command("add", "Make a list (not where a user or alias has the name; within the domain's max lists).") { addAddress };
        foreach (var o in addOptions)
            add.Options.Add(o);
        list.Subcommands.Add(add.WithAction(pr =>
        {
            var folder = Admin(ctx).Add(pr.GetValue(addAddress)!, addApply(pr, new ListConfig()));
            ctx.Out.WriteLine($"{folder.Address}: list made");
        }));

        var setAddress = new Argument<string>("list");
        var (setOptions, setApply) = SettingOptions();
        var newSecret = new Option<bool>("--new-secret") { Description = "Make a new cookie secret: every confirmation in flight stops holding." };
        var set = new Command("set", "Change a list's settings; what is not given keeps its value.") { setAddress, newSecret };
        foreach (var o in setOptions)
            set.Options.Add(o);
        list.Subcommands.Add(set.WithAction(pr =>
        {
            Admin(ctx).Set(pr.GetValue(setAddress)!, c => setApply(pr, c), pr.GetValue(newSecret));
            Print(ctx, Admin(ctx).Info(pr.GetValue(setAddress)!));
        }));

        var delAddress = new Argument<string>("list");
        list.Subcommands.Add(new Command("del", "Remove a list: its settings, members and archive.") { delAddress }.WithAction(pr =>
        {
            Admin(ctx).Delete(pr.GetValue(delAddress)!);
            ctx.Out.WriteLine($"{pr.GetValue(delAddress)}: list removed");
        }));

        var listDomain = new Argument<string>("domain");
        list.Subcommands.Add(new Command("domain", "A domain's lists: address, policy, subscribers ('list list' cannot be: the parser refuses a command named as its parent).") { listDomain }.WithAction(pr =>
        {
            foreach (var v in Admin(ctx).List(pr.GetValue(listDomain)!))
                ctx.Out.WriteLine($"{v.Address}\t{ListConfig.Keyword(v.Config.Policy)}\t{v.Subscribers}");
        }));

        var infoAddress = new Argument<string>("list");
        list.Subcommands.Add(new Command("info", "A list's settings and counts.") { infoAddress }.WithAction(pr => Print(ctx, Admin(ctx).Info(pr.GetValue(infoAddress)!))));

        list.Subcommands.Add(Members(ctx, "subscribe", "Subscribe addresses at once (no confirmation).", MemberSet.Subscribers, add: true));
        list.Subcommands.Add(Members(ctx, "unsubscribe", "Unsubscribe addresses at once.", MemberSet.Subscribers, add: false));
        var subsAddress = new Argument<string>("list");
        list.Subcommands.Add(new Command("subscribers", "The subscribers, one a line.") { subsAddress }.WithAction(pr =>
        {
            foreach (var a in Admin(ctx).Members(pr.GetValue(subsAddress)!, MemberSet.Subscribers))
                ctx.Out.WriteLine(a);
        }));
        list.Subcommands.Add(Set(ctx, "moderators", "The moderators (may post to announce and moderated lists; get -owner mail without an owner).", MemberSet.Moderators));
        list.Subcommands.Add(Set(ctx, "allow", "Addresses that may post to a subscribers-only list without being subscribed.", MemberSet.Allow));
        list.Subcommands.Add(Set(ctx, "deny", "Addresses that may never post.", MemberSet.Deny));
        list.Subcommands.Add(Set(ctx, "digest", "The digest subscribers (get digests instead of each post; the admin needs no confirmation).", MemberSet.Digest));

        var importDir = new Argument<string>("dir") { Description = "an ezmlm list directory (the one ezmlm-make made)" };
        var importAs = new Option<string>("--address") { Description = "The list's address (default: the directory's outlocal@outhost)." };
        list.Subcommands.Add(new Command("import", "Make a list from an ezmlm list directory: members, moderators, allow, deny, settings, archive; numbers continue.")
        { importDir, importAs }.WithAction(pr =>
        {
            var r = EzmlmImport.Run(Admin(ctx), pr.GetValue(importDir)!, pr.GetValue(importAs), ListOptions.From(ctx.Data.Settings));
            ctx.Out.WriteLine($"{r.Address}: imported {r.Subscribers} subscribers, {r.Moderators} moderators, {r.Allow} allow, {r.Deny} deny, {r.Archived} archived posts; last post {r.LastNumber}");
            foreach (var note in r.Notes)
                ctx.Out.WriteLine("note: " + note);
            foreach (var a in r.DigestSubscribers)
                ctx.Out.WriteLine("digest subscriber not imported: " + a);
        }));
        return list;
    }

    private static ListAdmin Admin(CliContext ctx) => new(ctx.AccountStore,
        new Core.MailStore.MailStoreLayout(ctx.Data.Settings.MailStorePath, ctx.Data.Settings.MaxDirectoryEntries), ListOptions.From(ctx.Data.Settings));

    private static Command Members(CliContext ctx, string name, string description, MemberSet set, bool add)
    {
        var address = new Argument<string>("list");
        var addresses = new Argument<string[]>("address") { Arity = ArgumentArity.OneOrMore };
        return new Command(name, description) { address, addresses }.WithAction(pr =>
        {
            var n = Admin(ctx).Change(pr.GetValue(address)!, set, pr.GetValue(addresses)!, add);
            ctx.Out.WriteLine($"{pr.GetValue(address)}: {n} {(add ? "added" : "removed")}");
        });
    }

    /// <summary>moderators|allow|deny|digest LIST [add|del ADDR...]: without a verb, the set one a line.</summary>
    private static Command Set(CliContext ctx, string name, string description, MemberSet set)
    {
        var address = new Argument<string>("list");
        var rest = new Argument<string[]>("verb-and-addresses") { Arity = ArgumentArity.ZeroOrMore, Description = "add ADDR... | del ADDR...; nothing: list them" };
        return new Command(name, description) { address, rest }.WithAction(pr =>
        {
            var args = pr.GetValue(rest) ?? [];
            if (args.Length == 0)
            {
                foreach (var a in Admin(ctx).Members(pr.GetValue(address)!, set))
                    ctx.Out.WriteLine(a);
                return;
            }
            if (args[0] is not ("add" or "del") || args.Length < 2)
                throw new UsageException($"list {name} LIST [add|del ADDRESS...]");
            var n = Admin(ctx).Change(pr.GetValue(address)!, set, args[1..], args[0] == "add");
            ctx.Out.WriteLine($"{pr.GetValue(address)}: {n} {(args[0] == "add" ? "added to" : "removed from")} {name}");
        });
    }

    private static (Option[] Options, Func<ParseResult, ListConfig, ListConfig> Apply) SettingOptions()
    {
        var name = new Option<string>("--name") { Description = "Display name (List-Id phrase, \"Name via Team\")." };
        var policy = new Option<string>("--policy") { Description = "Who may post: open, subscribers, moderated, announce (default open)." };
        var prefix = new Option<string>("--prefix") { Description = "Put before each Subject, e.g. [team]; \"\" for none." };
        var replyTo = new Option<string>("--reply-to") { Description = "Reply-To of the copies: none, list, poster (default none)." };
        var rewrite = new Option<string>("--from-rewrite") { Description = "DMARC From rewrite: never, always, dmarc (only when the poster's domain publishes p=quarantine or p=reject; default never)." };
        var maxBytes = new Option<long?>("--max-bytes") { Description = "Largest post in bytes (0: Lists:MaxPostBytes)." };
        var owner = new Option<string>("--owner") { Description = "Where team-owner@ goes (default: the moderators)." };
        var trailer = new Option<string>("--trailer") { Description = "Text appended to plain text posts; \"\" for none." };
        var confirmUnsub = new Option<string>("--confirm-unsubscribe") { Description = "yes (default) or no: no unsubscribes on the first message." };
        return ([name, policy, prefix, replyTo, rewrite, maxBytes, owner, trailer, confirmUnsub], (pr, c) =>
        {
            try
            {
                return new ListSettingsChange(pr.GetValue(name), pr.GetValue(policy), pr.GetValue(prefix), pr.GetValue(replyTo), pr.GetValue(rewrite),
                    pr.GetValue(maxBytes), pr.GetValue(owner), pr.GetValue(trailer), pr.GetValue(confirmUnsub)).Apply(c);
            }
            catch (FormatException e)
            {
                throw new UsageException(e.Message);
            }
        }
        );
    }

    private static void Print(CliContext ctx, ListView v)
    {
        var c = v.Config;
        ctx.Out.WriteLine($"list: {v.Address}");
        ctx.Out.WriteLine($"name: {c.Name}");
        ctx.Out.WriteLine($"policy: {ListConfig.Keyword(c.Policy)}");
        ctx.Out.WriteLine($"prefix: {c.Prefix}");
        ctx.Out.WriteLine($"reply-to: {ListConfig.Keyword(c.ReplyTo)}");
        ctx.Out.WriteLine($"from-rewrite: {ListConfig.Keyword(c.FromRewrite)}");
        ctx.Out.WriteLine($"max-bytes: {(c.MaxBytes == 0 ? "default" : ListFolder.Number(c.MaxBytes))}");
        ctx.Out.WriteLine($"owner: {(c.Owner.Length > 0 ? c.Owner : "the moderators")}");
        ctx.Out.WriteLine($"confirm-unsubscribe: {(c.ConfirmUnsubscribe ? "yes" : "no")}");
        ctx.Out.WriteLine($"subscribers: {v.Subscribers}");
        ctx.Out.WriteLine($"moderators: {v.Moderators}");
        ctx.Out.WriteLine($"allow: {v.Allow}");
        ctx.Out.WriteLine($"deny: {v.Deny}");
        ctx.Out.WriteLine($"last post: {v.LastNumber}");
    }
}
