// mailward dkim keygen|show|rotate|del: the DKIM signing keys of hosted domains in the data folder
// (docs/dkim-keys.md), printed with the DNS TXT record to publish (RFC 6376 §3.6.1, RFC 8463 §4.2).
using System.CommandLine;
using System.Globalization;
using Mailward.Core.Dkim;

namespace Mailward.Cli;

internal static class DkimCommands
{
    public static Command Build(CliContext ctx)
    {
        var dkim = new Command("dkim", "DKIM signing keys of hosted domains (docs/dkim-keys.md).");

        var genDomain = new Argument<string>("domain") { Description = "A hosted domain or alias domain." };
        var (genSelector, genRsa, genEd) = KeyOptions();
        dkim.Subcommands.Add(new Command("keygen", "Make a key, store it and print its DNS TXT record; a domain's first key signs at once, a later one after 'rotate'.")
        { genDomain, genSelector, genRsa, genEd }.WithAction(async pr =>
        {
            var domain = await HostedAsync(ctx, pr.GetValue(genDomain)!);
            var store = Store(ctx, domain);
            var existing = store.Read(domain);
            var key = Make(store, domain, pr.GetValue(genSelector), pr.GetValue(genRsa), pr.GetValue(genEd));
            if (existing.Signing is null)
            {
                store.Activate(domain, key.Selector);
                Print(ctx, key, "active: signs " + domain + "'s mail from now on; publish this record:");
            }
            else
                Print(ctx, key, $"inactive: {existing.Active} still signs; publish this record, then run 'mailward dkim rotate {domain}':");
            return 0;
        }));

        var showDomain = new Argument<string?>("domain") { Arity = ArgumentArity.ZeroOrOne, Description = "Only this domain." };
        dkim.Subcommands.Add(new Command("show", "List each domain's keys (active or not), their DNS TXT records and any damaged file.") { showDomain }.WithAction(pr =>
        {
            var store = new DkimKeyStore(ctx.Data.Path);
            var domains = pr.GetValue(showDomain) is { } d ? [Normalize(d)] : store.Domains();
            if (domains.Count == 0)
                ctx.Out.WriteLine("no DKIM keys (mailward dkim keygen DOMAIN)");
            foreach (var domain in domains)
            {
                var keys = store.Read(domain);
                ctx.Out.WriteLine($"{domain}: {(keys.Signing is { } s ? "signed with " + s.Selector : "not signed")}");
                if (keys.ActiveProblem is { } problem)
                    ctx.Out.WriteLine($"  problem: {problem}");
                foreach (var k in keys.Keys)
                {
                    if (!k.Good)
                    {
                        ctx.Out.WriteLine($"  {k.Selector}: damaged: {k.Problem}");
                        continue;
                    }
                    ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {k.Selector}: {k.Algorithm} {k.Bits} bits, created {k.Created.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z, {(k.Selector == keys.Active ? "active" : "inactive")}"));
                    ctx.Out.WriteLine($"  {k.ZoneLine}");
                }
            }
        }));

        var rotDomain = new Argument<string>("domain");
        var (rotSelector, rotRsa, rotEd) = KeyOptions();
        dkim.Subcommands.Add(new Command("rotate", "Make the newest inactive key (or --selector's) active; with none, make a new key and make it active at once.")
        { rotDomain, rotSelector, rotRsa, rotEd }.WithAction(async pr =>
        {
            var domain = await HostedAsync(ctx, pr.GetValue(rotDomain)!);
            var store = Store(ctx, domain);
            var keys = store.Read(domain);
            var old = keys.Signing;
            var named = pr.GetValue(rotSelector) is { } sel ? DkimKeyStore.NormalizeSelector(sel) : null;
            var next = named is not null ? keys.Keys.FirstOrDefault(k => k.Selector == named && k.Good)
                : keys.Keys.Where(k => k.Good && k.Selector != keys.Active && (old is null || k.Created >= old.Created)).MaxBy(k => k.Created);
            var made = next is null;
            next ??= Make(store, domain, named, pr.GetValue(rotRsa), pr.GetValue(rotEd));
            store.Activate(domain, next.Selector);
            Print(ctx, next, made ? "active now (a new key): publish this record at once, mail signed with it fails until it is published:"
                : "active now; its record must be published:");
            if (old is not null && old.Selector != next.Selector)
                ctx.Out.WriteLine($"{old.Selector} no longer signs; keep its record published a few days for mail in transit, then 'mailward dkim del {domain} --selector {old.Selector}'");
            return 0;
        }));

        var delDomain = new Argument<string>("domain");
        var delSelector = new Option<string?>("--selector") { Description = "Only this key; every key of the domain when omitted." };
        var force = new Option<bool>("--force") { Description = "Also remove the active key (the domain is no longer signed)." };
        dkim.Subcommands.Add(new Command("del", "Remove a key, or every key of a domain (its mail is no longer signed).") { delDomain, delSelector, force }.WithAction(pr =>
        {
            var domain = Normalize(pr.GetValue(delDomain)!);
            var store = Store(ctx, domain);
            var selector = pr.GetValue(delSelector) is { } s ? DkimKeyStore.NormalizeSelector(s) : null;
            if (selector is null && store.Read(domain).Keys.Count == 0)
                throw new UsageException($"{domain} has no DKIM keys");
            try
            {
                store.Delete(domain, selector, pr.GetValue(force));
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            ctx.Out.WriteLine(selector is null ? $"{domain}: every DKIM key removed; its mail is no longer signed" : $"{domain}: key {selector} removed");
        }));
        return dkim;
    }

    private static (Option<string?> Selector, Option<int?> Rsa, Option<bool> Ed25519) KeyOptions() => (
        new Option<string?>("--selector") { Description = "The selector (one DNS label); default s + today's date (UTC), e.g. s20261129." },
        new Option<int?>("--rsa") { Description = "An RSA key of this many bits (1024 to 4096; default 2048)." },
        new Option<bool>("--ed25519") { Description = "An Ed25519 key (RFC 8463) instead of RSA." });

    private static DkimKeyStore Store(CliContext ctx, string domain)
    {
        var store = new DkimKeyStore(ctx.Data.Path);
        store.CleanTemporary(domain); // what an interrupted command left (docs/dkim-keys.md, crash states)
        return store;
    }

    private static DkimKey Make(DkimKeyStore store, string domain, string? selector, int? rsa, bool ed25519)
    {
        if (rsa is not null && ed25519)
            throw new UsageException("--rsa and --ed25519 exclude each other");
        try
        {
            var s = DkimKeyStore.NormalizeSelector(selector ?? "s" + DateTime.UtcNow.ToString("yyyyMMdd", CultureInfo.InvariantCulture));
            if (store.Read(domain).Keys.Any(k => k.Selector == s))
                throw new UsageException($"{domain} already has a key with selector {s}; name another with --selector");
            var key = DkimKeyStore.Generate(domain, s, ed25519 ? null : rsa ?? 2048, DateTimeOffset.UtcNow);
            store.Save(key);
            return key;
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static string Normalize(string domain)
    {
        try
        {
            return DkimKeyStore.NormalizeDomain(domain);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>Keys are made only for domains this server hosts (or their aliases): only their mail leaves signed.</summary>
    private static async Task<string> HostedAsync(CliContext ctx, string domain)
    {
        var name = Normalize(domain);
        await ctx.Admin.GetDomainAsync(ctx.Actor, name, allowAlias: true); // AccountException when not hosted
        return name;
    }

    private static void Print(CliContext ctx, DkimKey key, string state)
    {
        ctx.Out.WriteLine($"{key.Domain} {key.Selector} {key.Algorithm} {key.Bits} bits {state}");
        ctx.Out.WriteLine(key.ZoneLine);
    }
}
