// vadddomain, vdeldomain, vaddaliasdomain, vdominfo, vipmap, vmoddomlimits.
using Mailward.Cli;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Admin;

namespace Mailward.Vpopmail;

public static partial class VpopmailTools
{
    private const string UsageVadddomain = """
        usage: vadddomain [options] virtual_domain [postmaster password]
        options: -v (print version)
                 -q quota_in_bytes (quota of the postmaster account)
                 -b (bounce mail for unknown users, the default)
                 -e email_address (forward mail for unknown users to this address)
                 -d dir (put the domain's folder under this folder)
                 -r[len] (random postmaster password, default length 8)
                 -u user, -i uid, -g gid, -O (accepted and ignored: one service user owns all mail)
        """;

    private static async Task<int> Vadddomain(Getopt.Result r, CliContext ctx)
    {
        var domain = Operand(r, 0, "domain");
        NoMoreOperands(r, 2);
        Ignore(r, ctx, "vadddomain", "uigO", "mailward runs all mail as one service user");
        // vadddomain's -e is the catch-all address, not a hash.
        var password = PasswordFrom(r, ctx, "postmaster", operand: 1, allowHash: false);
        var catchAll = r.Has('e') ? AccountAdmin.ParseCatchAll(r.Value('e')!) : CatchAll.Bounce;
        var quota = r.Value('q') is { } q ? Quota.Parse(q) : (Quota?)null;
        var result = await ctx.Admin.AddDomainAsync(ctx.Actor, domain, password, catchAll, r.Value('d'), quota);
        if (result.GeneratedPassword is not null)
            ctx.Out.WriteLine($"Random password: {result.GeneratedPassword}");
        return 0;
    }

    private static async Task<int> Vdeldomain(Getopt.Result r, CliContext ctx)
    {
        if (r.Operands.Count == 0)
            throw new UsageException("missing domain");
        foreach (var d in r.Operands)
        {
            await ctx.Admin.DeleteDomainAsync(ctx.Actor, d);
            ctx.Out.WriteLine($"deleting domain {DomainName.Normalize(d)}");
        }
        return 0;
    }

    private static async Task<int> Vaddaliasdomain(Getopt.Result r, CliContext ctx)
    {
        var a = DomainName.Normalize(Operand(r, 0, "real_domain"));
        var b = DomainName.Normalize(Operand(r, 1, "alias_domain"));
        NoMoreOperands(r, 2);
        if (a == b)
            throw new UsageException("real domain and alias domain are the same");
        var aDomain = await ctx.Admin.FindDomainAsync(ctx.Actor, a);
        var bDomain = await ctx.Admin.FindDomainAsync(ctx.Actor, b);
        var (aExists, bExists) = (aDomain is not null, bDomain is not null);
        if (aExists && bExists)
            throw new AccountException(AccountError.DomainExists, "both domains already exist, unable to create alias");
        if (!aExists && !bExists)
            throw new AccountException(AccountError.DomainNotFound, $"neither {a} nor {b} exists, unable to create alias");
        // As vpopmail: whichever exists is the real domain, so both argument orders work.
        var (alias, real) = aExists ? (b, aDomain!.Name) : (a, bDomain!.Name);
        await ctx.Admin.AddDomainAliasAsync(ctx.Actor, alias, real);
        return 0;
    }

    private static async Task<int> Vdominfo(Getopt.Result r, CliContext ctx)
    {
        var all = !"nugdt".Any(r.Has);
        var domains = new List<DomainView>();
        if (r.Operands.Count > 0)
            foreach (var d in r.Operands)
                domains.Add(await ctx.Admin.GetDomainAsync(ctx.Actor, d, allowAlias: true));
        else
            domains.AddRange(await ctx.Admin.ListDomainsAsync(ctx.Actor));
        var (uid, gid) = ServiceIds();
        foreach (var d in domains)
        {
            var info = await ctx.Admin.GetDomainInfoAsync(ctx.Actor, d.Name);
            if (all || r.Has('n'))
                ctx.Out.WriteLine(all ? $"domain: {d.Name}" : d.Name);
            if (all)
                foreach (var alias in info.AliasDomains)
                    ctx.Out.WriteLine($"alias: {alias}");
            if (all || r.Has('u'))
                ctx.Out.WriteLine(all ? $"uid:    {uid}" : uid);
            if (all || r.Has('g'))
                ctx.Out.WriteLine(all ? $"gid:    {gid}" : gid);
            if (all || r.Has('d'))
                ctx.Out.WriteLine(all ? $"dir:    {info.Folder}" : info.Folder);
            if (all || r.Has('t'))
                ctx.Out.WriteLine(all ? $"users:  {info.Users}" : info.Users.ToString());
            if (all && domains.Count > 1)
                ctx.Out.WriteLine();
        }
        return 0;
    }

    /// <summary>The service user's ids, shown where vpopmail showed the domain's uid/gid.</summary>
    private static (string Uid, string Gid) ServiceIds()
    {
        try
        {
            var status = File.ReadAllLines("/proc/self/status");
            string Field(string name) => status.First(l => l.StartsWith(name, StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1];
            return (Field("Uid:"), Field("Gid:"));
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or IndexOutOfRangeException)
        {
            return ("0", "0");
        }
    }

    private static async Task<int> Vipmap(Getopt.Result r, CliContext ctx)
    {
        if (r.Has('a'))
        {
            var e = await ctx.Admin.AddIpMapAsync(ctx.Actor, Operand(r, 0, "ip"), Operand(r, 1, "domain"));
            ctx.Out.WriteLine($"{e.Address} {e.Domain}");
        }
        else if (r.Has('d'))
            await ctx.Admin.DeleteIpMapAsync(ctx.Actor, Operand(r, 0, "ip"), r.Operands.Count > 1 ? r.Operands[1] : null);
        else if (r.Has('p'))
        {
            foreach (var e in await ctx.Admin.ListIpMapAsync(ctx.Actor))
                ctx.Out.WriteLine($"{e.Address} {e.Domain}");
        }
        else
            throw new UsageException("give -p, -a or -d");
        return 0;
    }

    private const string UsageVmoddomlimits = """
        usage: vmoddomlimits [options] domain
        options: -S (show current settings)
                 -D (delete the limits of this domain)
                 -Q quota-in-megabytes (domain quota, '100' = 100 MB)
                 -q quota-in-bytes (default user quota, '10M' = 10 MB)
                 -M count (domain max message count)
                 -m count (default user max message count)
                 -P count (max pop accounts)   -A count (max aliases)   -F count (max forwards)
                 -R count (max autoresponders) -L count (max mailing lists)
        (-1 is unlimited; -d, -g and the permission flags -p -a -f -r -l -u -o -x -z are not supported)
        """;

    private static async Task<int> Vmoddomlimits(Getopt.Result r, CliContext ctx)
    {
        var domain = Operand(r, 0, "domain");
        NoMoreOperands(r, 1);
        Ignore(r, ctx, "vmoddomlimits", "dgpafrluoxz", "not supported by mailward");
        static int? Count(Getopt.Result r, char c, int? current) => r.Value(c) is not { } v ? current
            : int.TryParse(v, out var n) ? (n < 0 ? null : n)
            : throw new UsageException($"-{c} takes a whole number, not '{v}'");
        static long Long(Getopt.Result r, char c, long current) => r.Value(c) is not { } v ? current
            : long.TryParse(v, out var n) && n >= 0 ? n
            : throw new AccountException(AccountError.QuotaMalformed, $"quota malformed: -{c} {v}");
        // With no option vmoddomlimits only shows, as -S does.
        if (!r.Has('S') && r.Options.Count > 0)
        {
            var l = (await ctx.Admin.GetDomainAsync(ctx.Actor, domain, allowAlias: false)).Limits;
            if (r.Has('D'))
                l = DomainLimits.None;
            var domainQuotaBytes = r.Value('Q') is { } mb
                ? (long.TryParse(mb, out var m) && m >= 0 ? m * 1024 * 1024 : throw new AccountException(AccountError.QuotaMalformed, $"quota malformed: -Q {mb} (megabytes)"))
                : l.DomainQuota.Bytes;
            var defaultBytes = r.Value('q') is { } q
                ? (Quota.TrySize(q, out var b) ? b : throw new AccountException(AccountError.QuotaMalformed, $"quota malformed: -q {q}"))
                : l.DefaultUserQuota.Bytes;
            await ctx.Admin.SetLimitsAsync(ctx.Actor, domain, l with
            {
                MaxUsers = Count(r, 'P', l.MaxUsers),
                MaxAliases = Count(r, 'A', l.MaxAliases),
                MaxForwards = Count(r, 'F', l.MaxForwards),
                MaxAutoresponders = Count(r, 'R', l.MaxAutoresponders),
                MaxLists = Count(r, 'L', l.MaxLists),
                DomainQuota = new Quota(domainQuotaBytes, Long(r, 'M', l.DomainQuota.Messages)),
                DefaultUserQuota = new Quota(defaultBytes, Long(r, 'm', l.DefaultUserQuota.Messages)),
            });
        }
        if (r.Has('S') || r.Options.Count == 0)
        {
            var l = (await ctx.Admin.GetDomainAsync(ctx.Actor, domain, allowAlias: false)).Limits;
            ctx.Out.WriteLine($"Domain: {DomainName.Normalize(domain)}");
            ctx.Out.WriteLine($"Max Pop Accounts: {l.MaxUsers ?? -1}");
            ctx.Out.WriteLine($"Max Aliases: {l.MaxAliases ?? -1}");
            ctx.Out.WriteLine($"Max Forwards: {l.MaxForwards ?? -1}");
            ctx.Out.WriteLine($"Max Autoresponders: {l.MaxAutoresponders ?? -1}");
            ctx.Out.WriteLine($"Max Mailinglists: {l.MaxLists ?? -1}");
            ctx.Out.WriteLine($"Domain Quota: {l.DomainQuota.Bytes / (1024 * 1024)} MB");
            ctx.Out.WriteLine($"Default User Quota: {l.DefaultUserQuota.Bytes} bytes");
            ctx.Out.WriteLine($"Max Domain Messages: {l.DomainQuota.Messages}");
            ctx.Out.WriteLine($"Default Max Messages per User: {l.DefaultUserQuota.Messages}");
        }
        return 0;
    }
}
