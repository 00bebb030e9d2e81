// Aliases and forwards (vpopmail's valias lines), relay rules (tcprules) and IP maps (vipmap).
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin
{
    /// <summary>Adds one delivery line to an address, respecting the domain's alias/forward limits.</summary>
    public string AddAliasLine(string address, string line)
    {
        var a = MailAddress.Parse(address);
        var domain = RequireDomain(a.Domain, allowAlias: false);
        var normalized = NormalizeAliasLine(line);
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
    }

    /// <summary>Removes one line, or every line of the address when <paramref name="line"/> is null.</summary>
    public void DeleteAlias(string address, string? line)
    {
        var a = MailAddress.Parse(address);
        var domain = RequireDomain(a.Domain, allowAlias: false);
        if (store.DeleteAlias(domain.Id, a.Local, line is null ? null : NormalizeAliasLine(line)) == 0)
            throw new AccountException(AccountError.AliasNotFound, line is null ? $"alias does not exist: {a}" : $"alias {a} has no line {line}");
    }

    public IReadOnlyList<AliasRecord> ListAliases(string domain) => store.ListAliases(RequireDomain(domain, allowAlias: true).Id);

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

    public RelayRule SetRelayRule(string network, RelayAction action, string? comment)
    {
        var rule = new RelayRule(NormalizeNetwork(network), action, comment ?? "", _time.GetUtcNow());
        store.SetRelayRule(rule);
        return rule;
    }

    public void DeleteRelayRule(string network)
    {
        if (!store.DeleteRelayRule(NormalizeNetwork(network)))
            throw new AccountException(AccountError.InvalidArgument, $"no relay rule for {network}");
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

    public IpMapEntry AddIpMap(string address, string domain)
    {
        var ip = ParseIp(address);
        var d = RequireDomain(domain, allowAlias: true);
        var entry = new IpMapEntry(ip, d.Name);
        store.AddIpMap(entry);
        return entry;
    }

    public void DeleteIpMap(string address, string? domain)
    {
        var ip = ParseIp(address);
        var d = domain is null ? null : DomainName.Normalize(domain);
        if (!store.DeleteIpMap(ip, d))
            throw new AccountException(AccountError.InvalidArgument, $"no IP map for {ip}{(d is null ? "" : " to " + d)}");
    }

    private static string ParseIp(string text) => IPAddress.TryParse(text.Trim(), out var ip) ? ip.ToString()
        : throw new AccountException(AccountError.InvalidArgument, $"not an IP address: {text}");
}
