// The admin writes and lists of the network aggregate: relay rules (tcprules), server-address
// maps (vipmap) and roaming grants (POP-before-SMTP).
namespace Mailward.Core.Accounts;

public interface INetworkStore
{
    IReadOnlyList<RelayRule> ListRelayRules();
    /// <summary>Relay rules by network; the search matches the network.</summary>
    Page<RelayRule> ListRelayRules(PageRequest page);
    void SetRelayRule(RelayRule rule);
    bool DeleteRelayRule(string network);
    IReadOnlyList<IpMapEntry> ListIpMap();
    /// <summary>IP maps by address; the search matches the address or the domain.</summary>
    Page<IpMapEntry> ListIpMap(PageRequest page);
    void AddIpMap(IpMapEntry entry);
    bool DeleteIpMap(string address, string? domain);
    /// <summary>POP-before-SMTP: the client address may relay until the grant expires (extended, never shortened).</summary>
    void GrantRoaming(RoamingGrant grant);
    IReadOnlyList<RoamingGrant> ListRoaming(DateTimeOffset now);
}
