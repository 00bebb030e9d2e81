// The admin writes and lists of the domain aggregate: domains, their alias domains, limits,
// catch-alls and the slots of the hashed folder tree.
namespace Mailward.Core.Accounts;

public interface IDomainStore
{
    IReadOnlyList<DomainRecord> ListDomains();
    /// <summary>Domains by name; the search matches the name.</summary>
    Page<DomainRecord> ListDomains(PageRequest page);
    IReadOnlyList<string> ListDomainAliases(long domainId);
    /// <summary>Inserts the domain and its first user in one transaction, completing the folder intent.</summary>
    DomainRecord AddDomain(string name, string directory, CatchAll catchAll, DomainLimits limits, NewUser? firstUser, string firstUserDirectory, long intentId);
    /// <summary>Removes the domain and everything in it, recording an intent to delete its folder.</summary>
    long DeleteDomain(DomainRecord domain);
    void AddDomainAlias(string alias, long domainId);
    bool DeleteDomainAlias(string alias);
    void SetCatchAll(long domainId, CatchAll catchAll);
    void SetLimits(long domainId, DomainLimits limits);
    int CountUsers(long domainId);
    /// <summary>
    /// Takes the next slot of the domain's (or, with null, the domains') hashed tree and records the
    /// intent to create the folder that <paramref name="pathForSlot"/> names, in one transaction.
    /// </summary>
    (string Path, long IntentId) ReserveFolder(long? domainId, Func<long, string> pathForSlot);
}
