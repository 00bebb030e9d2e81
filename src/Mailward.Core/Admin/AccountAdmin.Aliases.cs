// Aliases and forwards (vpopmail's valias lines), relay rules (tcprules) and IP maps (vipmap).
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin
{
    /// <summary>Adds one delivery line to an address, respecting the domain's alias/forward limits.</summary>
    public Task<string> AddAliasLineAsync(Actor actor, string address, string line) => ChangeAsync(actor, AdminOperation.AddAliasLine, address, () =>
    {
        var a = MailAddress.Parse(address);
        string? normalized = null;
        var domain = AuthorizedDomain(actor, AdminOperation.AddAliasLine, a.Domain, allowAlias: false, d =>
            new AdminRequest(AdminOperation.AddAliasLine, d.Name, $"{a.Local}@{d.Name}") { DeliveryLine = normalized = NormalizeAliasLine(line) });
        normalized ??= NormalizeAliasLine(line);
        if (normalized == "&" + a)
            throw new AccountException(AccountError.InvalidArgument, "an alias cannot forward to itself");
        var existing = store.FindAlias(a.Local, domain.Name);
        if (existing is null)
        {
            var all = store.ListAliases(domain.Id);
            var isForward = normalized.StartsWith('&');
            if (isForward && domain.Limits.MaxForwards is { } mf && all.Count(x => x.IsForward) >= mf)
                throw new AccountException(AccountError.LimitReached, $"limit reached: {domain.Name} allows at most {mf} forwards");
            if (!isForward && domain.Limits.MaxAliases is { } ma && all.Count(x => !x.IsForward) >= ma)
                throw new AccountException(AccountError.LimitReached, $"limit reached: {domain.Name} allows at most {ma} aliases");
        }
        store.AddAliasLine(domain.Id, a.Local, normalized);
        return normalized;
    });

    /// <summary>Removes one line, or every line of the address when <paramref name="line"/> is null.</summary>
    public Task DeleteAliasAsync(Actor actor, string address, string? line) => ChangeAsync(actor, AdminOperation.DeleteAlias, address, () =>
    {
        var a = MailAddress.Parse(address);
        var domain = AuthorizedDomain(actor, AdminOperation.DeleteAlias, a.Domain, allowAlias: false, d =>
            new AdminRequest(AdminOperation.DeleteAlias, d.Name, $"{a.Local}@{d.Name}"));
        if (store.DeleteAlias(domain.Id, a.Local, line is null ? null : NormalizeAliasLine(line)) == 0)
            throw new AccountException(AccountError.AliasNotFound, line is null ? $"alias does not exist: {a}" : $"alias {a} has no line {line}");
        return true;
    });

    public Task<IReadOnlyList<AliasView>> ListAliasesAsync(Actor actor, string domain) =>
        Task.FromResult<IReadOnlyList<AliasView>>(store.ListAliases(AuthorizedDomain(actor, AdminOperation.ListAliases, domain, allowAlias: true).Id)
            .Select(a => new AliasView(a.Local, a.Domain, a.Lines)).ToList());

    /// <summary>One page of a domain's aliases (keyset by local part).</summary>
    public Task<Page<AliasView>> ListAliasesAsync(Actor actor, string domain, PageRequest page)
    {
        var p = store.ListAliases(AuthorizedDomain(actor, AdminOperation.ListAliases, domain, allowAlias: true).Id, page);
        return Task.FromResult(new Page<AliasView>(p.Items.Select(a => new AliasView(a.Local, a.Domain, a.Lines)).ToList(), p.Next));
    }

    /// <summary>
    /// Lines as in .qmail and valias: "&amp;address" forwards, "/path/" is a Maildir, "/path" an mbox,
    /// "|command" a program; a bare address means "&amp;address" (qmail-local's rule).
    /// </summary>
    public static string NormalizeAliasLine(string line)
    {
        var l = line.Trim();
        if (l.Length == 0 || l.Any(char.IsControl))
            throw new AccountException(AccountError.InvalidArgument, "an alias line must be non-empty text on one line");
        if (l[0] == '/')
        {
            if (l.Split('/').Any(seg => seg is "." or ".."))
                throw new AccountException(AccountError.InvalidArgument, $"an alias path may not contain . or .. segments: {l}");
            return l;
        }
        if (l[0] == '|')
        {
            if (l.Length == 1)
                throw new AccountException(AccountError.InvalidArgument, "a program line needs a command");
            return l;
        }
        var target = l[0] == '&' ? l[1..] : l;
        if (!ForwardAddress.TryNormalize(target, out var addr, out var error))
            throw new AccountException(AccountError.InvalidArgument, $"{error} (alias lines are &address, /Maildir/, /mbox or |program)");
        return "&" + addr;
    }

    // --- relay rules ------------------------------------------------------------------------

    public Task<RelayRuleView> SetRelayRuleAsync(Actor actor, string network, RelayAction action, string? comment) =>
        ChangeAsync(actor, AdminOperation.SetRelayRule, network, () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.SetRelayRule));
        var rule = new RelayRule(NormalizeNetwork(network), action, comment ?? "", _time.GetUtcNow());
        store.SetRelayRule(rule);
        return new RelayRuleView(rule.Network, rule.Action, rule.Comment, rule.CreatedAt);
    });

    public Task DeleteRelayRuleAsync(Actor actor, string network) => ChangeAsync(actor, AdminOperation.DeleteRelayRule, network, () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.DeleteRelayRule));
        if (!store.DeleteRelayRule(NormalizeNetwork(network)))
            throw new AccountException(AccountError.InvalidArgument, $"no relay rule for {network}");
        return true;
    });

    public Task<IReadOnlyList<RelayRuleView>> ListRelayRulesAsync(Actor actor)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ListRelayRules));
        return Task.FromResult<IReadOnlyList<RelayRuleView>>(store.ListRelayRules().Select(r => new RelayRuleView(r.Network, r.Action, r.Comment, r.CreatedAt)).ToList());
    }

    /// <summary>POP-before-SMTP grants still in force: relay rights that logins made.</summary>
    public Task<IReadOnlyList<RoamingView>> ListRoamingAsync(Actor actor)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ListRelayRules));
        return Task.FromResult<IReadOnlyList<RoamingView>>(store.ListRoaming(_time.GetUtcNow()).Select(g => new RoamingView(g.Address, g.Login, g.GrantedAt, g.ExpiresAt)).ToList());
    }

    /// <summary>A CIDR network in canonical form; a bare address is a single host.</summary>
    public static string NormalizeNetwork(string text)
    {
        var t = text.Trim();
        if (!t.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(t, out var host))
            return new IPNetwork(host, host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128).ToString();
        // Host bits must be zero: "192.0.2.1/24" is more likely a typo than a wish for the /24.
        if (IPNetwork.TryParse(t, out var net) && IPAddress.TryParse(t[..t.IndexOf('/', StringComparison.Ordinal)], out var given) &&
            given.Equals(net.BaseAddress))
            return net.ToString();
        throw new AccountException(AccountError.InvalidArgument,
            $"not an address or CIDR network (host bits must be zero, e.g. 192.0.2.0/24): {text}");
    }

    // --- IP maps (vipmap) -------------------------------------------------------------------

    public Task<IpMapView> AddIpMapAsync(Actor actor, string address, string domain) => ChangeAsync(actor, AdminOperation.AddIpMap, address, () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.AddIpMap));
        var ip = ParseIp(address);
        var n = DomainName.Normalize(domain);
        var d = RequireDomain(n, store.FindDomain(n), allowAlias: true);
        var entry = new IpMapEntry(ip, d.Name);
        store.AddIpMap(entry);
        return new IpMapView(entry.Address, entry.Domain);
    });

    public Task DeleteIpMapAsync(Actor actor, string address, string? domain) => ChangeAsync(actor, AdminOperation.DeleteIpMap, address, () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.DeleteIpMap));
        var ip = ParseIp(address);
        var d = domain is null ? null : DomainName.Normalize(domain);
        if (!store.DeleteIpMap(ip, d))
            throw new AccountException(AccountError.InvalidArgument, $"no IP map for {ip}{(d is null ? "" : " to " + d)}");
        return true;
    });

    public Task<IReadOnlyList<IpMapView>> ListIpMapAsync(Actor actor)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ListIpMap));
        return Task.FromResult<IReadOnlyList<IpMapView>>(store.ListIpMap().Select(e => new IpMapView(e.Address, e.Domain)).ToList());
    }

    private static string ParseIp(string text) => IPAddress.TryParse(text.Trim(), out var ip) ? ip.ToString()
        : throw new AccountException(AccountError.InvalidArgument, $"not an IP address: {text}");
}
