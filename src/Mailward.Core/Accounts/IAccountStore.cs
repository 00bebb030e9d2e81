// The account store seam of a provider: the hot-path lookups (IAccountDirectory, also offered here
// synchronously for administration, always read from the store) and the admin writes and lists,
// one interface per aggregate (IDomainStore, IUserStore, IAliasStore, INetworkStore). The server
// reads through a CachedAccountDirectory in front of the store. Folder creation and removal are not
// the store's job: it only records the intents (see docs/mail-store.md). Every provider passes
// the one store test suite (tests/Mailward.Tests/Accounts/AccountStoreContract.cs).
namespace Mailward.Core.Accounts;

public interface IAccountStore : IAccountDirectory, IAccountChangeSource, IDomainStore, IUserStore, IAliasStore, INetworkStore, IAutoresponderStore, IAdminAccessStore, IAuditStore, IDisposable
{
    // --- lookups, uncached (administration; the hot path uses IAccountDirectory) -------------
    /// <summary>The hosted domain for a name, following alias domains; null when not hosted.</summary>
    DomainRecord? FindDomain(string name);
    UserRecord? FindUser(string local, string domain);
    AliasRecord? FindAlias(string local, string domain);
    string? MapIpToDomain(string address);

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
