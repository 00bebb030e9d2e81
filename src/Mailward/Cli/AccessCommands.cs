// mailward apikey add|list|revoke (API keys for /api/v1: scoped, read-only or read-write, with an
// expiry; the token printed once) and mailward admin grant|revoke|list|totp-off (accounts that
// administer domains beyond their own, system admins, and the reset of a lost second factor).
// docs/web-admin.md.
using System.CommandLine;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;

namespace Mailward.Cli;

internal static class AccessCommands
{
    public static Command BuildApiKey(CliContext ctx)
    {
        var apikey = new Command("apikey", "API keys for the HTTP API (Authorization: Bearer); a key never logs in to IMAP, POP3 or SMTP.");
        var name = new Argument<string>("name") { Description = "A name for the key (letters, digits, '.', '-', '_'); never reused." };
        var domains = new Option<string[]>("--domain", "-d") { Description = "A domain the key reaches (repeat for more); without any: the whole system.", AllowMultipleArgumentsPerToken = false };
        var readOnly = new Option<bool>("--read-only") { Description = "The key reads but changes nothing." };
        var days = new Option<int?>("--days") { Description = "Days until it expires (default Admin:ApiKeyDefaultDays, at most Admin:ApiKeyMaxDays)." };
        apikey.Subcommands.Add(new Command("add", "Make a key; its token is printed once and stored nowhere (only a hash).") { name, domains, readOnly, days }.WithAction(async pr =>
        {
            var d = pr.GetValue(domains) is { Length: > 0 } list ? list : null;
            var r = await ctx.Admin.AddApiKeyAsync(ctx.Actor, pr.GetValue(name)!, d, pr.GetValue(readOnly),
                pr.GetValue(days) is { } n ? TimeSpan.FromDays(n) : null);
            ctx.Out.WriteLine($"{r.Key.Name}: {r.Key.Scope}{(r.Key.ReadOnly ? " read-only" : " read-write")}, expires {CommandHelpers.FormatTime(r.Key.ExpiresAt)}");
            ctx.Out.WriteLine(r.Token);
        }));
        apikey.Subcommands.Add(new Command("list", "List keys as 'name state scope read-only|read-write expires created-by' (no secrets).").WithAction(async _ =>
        {
            var now = DateTimeOffset.UtcNow;
            foreach (var k in await ctx.Admin.ListApiKeysAsync(ctx.Actor))
                ctx.Out.WriteLine($"{k.Name}\t{k.State(now)}\t{k.Scope}\t{(k.ReadOnly ? "read-only" : "read-write")}\t{CommandHelpers.FormatTime(k.ExpiresAt)}\t{k.CreatedBy}");
        }));
        var revokeName = new Argument<string>("name");
        apikey.Subcommands.Add(new Command("revoke", "Revoke a key: refused from now on.") { revokeName }.WithAction(async pr =>
        {
            await ctx.Admin.RevokeApiKeyAsync(ctx.Actor, pr.GetValue(revokeName)!);
            ctx.Out.WriteLine($"{pr.GetValue(revokeName)}: revoked");
        }));
        return apikey;
    }

    public static Command BuildAdmin(CliContext ctx)
    {
        var admin = new Command("admin", "Who administers what on the web admin and the API: grants of domains, system admins, second factors.");
        foreach (var (verb, grant) in new[] { ("grant", true), ("revoke", false) })
        {
            var address = new Argument<string>("address") { Description = "The account (user@domain)." };
            var domain = new Argument<string?>("domain") { Description = "The domain it administers (or stops administering).", Arity = ArgumentArity.ZeroOrOne };
            var system = new Option<bool>("--system") { Description = "System admin instead of a domain (the system-admin flag)." };
            var text = grant ? "Make an account an admin of a domain (any number of domains), or with --system a system admin."
                : "Take a domain (or with --system, the system) from an account's administration.";
            admin.Subcommands.Add(new Command(verb, text) { address, domain, system }.WithAction(async pr =>
            {
                var a = pr.GetValue(address)!;
                if (pr.GetValue(system) == (pr.GetValue(domain) is not null))
                    throw new UsageException("give a domain or --system");
                if (pr.GetValue(system))
                {
                    var change = grant ? new UserChange { Set = UserFlags.SystemAdmin } : new UserChange { Unset = UserFlags.SystemAdmin };
                    var u = await ctx.Admin.ModifyUserAsync(ctx.Actor, a, change);
                    ctx.Out.WriteLine($"{u.Address}: {(grant ? "system admin" : "no longer a system admin")}");
                    return;
                }
                var d = pr.GetValue(domain)!;
                var changed = grant ? await ctx.Admin.GrantAdminAsync(ctx.Actor, a, d) : await ctx.Admin.RevokeAdminAsync(ctx.Actor, a, d);
                ctx.Out.WriteLine(grant ? $"{a}: admin of {d}{(changed ? "" : " (already)")}" : changed ? $"{a}: no longer admin of {d}" : $"{a}: had no grant of {d}");
            }));
        }
        admin.Subcommands.Add(new Command("list", "List the grants as 'address domain' (admins by flag or as postmaster: user info).").WithAction(async _ =>
        {
            foreach (var g in await ctx.Admin.ListAdminGrantsAsync(ctx.Actor))
                ctx.Out.WriteLine($"{g.Address} {g.Domain}");
        }));
        var totpAddress = new Argument<string>("address");
        admin.Subcommands.Add(new Command("totp-off", "Turn an account's TOTP second factor off (a lost device); it enrols again on its page.") { totpAddress }.WithAction(async pr =>
        {
            var removed = await ctx.Admin.DeleteTotpAsync(ctx.Actor, pr.GetValue(totpAddress)!);
            ctx.Out.WriteLine($"{pr.GetValue(totpAddress)}: {(removed ? "second factor off" : "had no second factor")}");
        }));
        return admin;
    }
}
