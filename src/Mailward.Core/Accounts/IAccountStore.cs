// The account store seam of a provider: the hot-path lookups (IAccountDirectory, also offered here
// synchronously for administration, always read from the store) and the administration. The
// server reads through a CachedAccountDirectory in front of the store. Folder creation and removal
// are not the store's job: it only records the intents (see docs/mail-store.md).
namespace Mailward.Core.Accounts;

public interface IAccountStore : IAccountDirectory, IAccountChangeSource, IDisposable
{
    // --- lookups, uncached (administration; the hot path uses IAccountDirectory) -------------
    /// <summary>The hosted domain for a name, following alias domains; null when not hosted.</summary>
    DomainRecord? FindDomain(string name);
    UserRecord? FindUser(string local, string domain);
    AliasRecord? FindAlias(string local, string domain);
    string? MapIpToDomain(string address);

    // --- domains ----------------------------------------------------------------------------
    IReadOnlyList<DomainRecord> ListDomains();
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

    // --- users ------------------------------------------------------------------------------
    IReadOnlyList<UserRecord> ListUsers(long domainId);
    UserRecord AddUser(DomainRecord domain, NewUser user, string directory, long intentId);
    long DeleteUser(UserRecord user);
    /// <summary>Writes every field of the record: for imports and tests. Changes go through <see cref="PatchUser"/>.</summary>
    void UpdateUser(UserRecord user);
    /// <summary>Writes only the fields the patch names; false when the user does not exist.</summary>
    bool PatchUser(long userId, UserPatch patch);
    /// <summary>
    /// A login's upgrade of a legacy hash: writes <paramref name="newHash"/> only while the stored
    /// hash is still <paramref name="verifiedHash"/> (an admin's new password wins); false otherwise.
    /// </summary>
    bool UpgradePasswordHash(long userId, string verifiedHash, string newHash);
    void RecordLogin(long userId, LastLogin login);

    // --- aliases ----------------------------------------------------------------------------
    IReadOnlyList<AliasRecord> ListAliases(long domainId);
    void AddAliasLine(long domainId, string local, string line);
    int DeleteAlias(long domainId, string local, string? line);

    // --- relay rules and IP maps -------------------------------------------------------------
    IReadOnlyList<RelayRule> ListRelayRules();
    void SetRelayRule(RelayRule rule);
    bool DeleteRelayRule(string network);
    IReadOnlyList<IpMapEntry> ListIpMap();
    /// <summary>POP-before-SMTP: the client address may relay until the grant expires (extended, never shortened).</summary>
    void GrantRoaming(RoamingGrant grant);
    IReadOnlyList<RoamingGrant> ListRoaming(DateTimeOffset now);
    void AddIpMap(IpMapEntry entry);
    bool DeleteIpMap(string address, string? domain);

    // --- folder intents (crash consistency between the store and the mail store) -------------
    long RecordFolderIntent(FolderIntentKind kind, string path);
    void CompleteFolderIntent(long intentId);
    IReadOnlyList<FolderIntent> ListFolderIntents();
    /// <summary>True when a domain or user record names this folder.</summary>
    bool IsFolderInUse(string path);
}

public enum FolderIntentKind
{
    Create = 1,
    Delete = 2,
}

public sealed record FolderIntent(long Id, FolderIntentKind Kind, string Path, DateTimeOffset CreatedAt);
