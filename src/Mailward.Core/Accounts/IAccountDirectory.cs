// The account directory: the hot path of every RCPT and login (domain, user, alias, server-address
// lookups), as an async seam so a provider on the network (PostgreSQL) fits it as well as SQLite.
// Consumers take IAccountDirectory; the composition puts CachedAccountDirectory in front of the
// provider, so every provider gets the same bounded cache (Cache/CachedAccountDirectory.cs).
namespace Mailward.Core.Accounts;

public interface IAccountDirectory
{
    /// <summary>The hosted domain for a name, following alias domains; null when not hosted.</summary>
    ValueTask<DomainRecord?> FindDomainAsync(string name, CancellationToken ct = default);

    /// <summary>The user <paramref name="local"/> of a domain named by its name or an alias domain's.</summary>
    ValueTask<UserRecord?> FindUserAsync(string local, string domain, CancellationToken ct = default);

    /// <summary>The alias lines of <paramref name="local"/> at a domain named by its name or an alias domain's.</summary>
    ValueTask<AliasRecord?> FindAliasAsync(string local, string domain, CancellationToken ct = default);

    /// <summary>vipmap: the domain a bare login name means when the client connected to this server address.</summary>
    ValueTask<string?> MapIpToDomainAsync(string address, CancellationToken ct = default);
}

/// <summary>What a cache in front of a provider watches to stay true.</summary>
public interface IAccountChangeSource
{
    /// <summary>
    /// The store's change counter: it moves with every committed write that can change a lookup's
    /// answer, made by any process or node sharing the store.
    /// </summary>
    ValueTask<long> ReadChangeCounterAsync(CancellationToken ct = default);

    /// <summary>
    /// Raised after a write through this object committed: a cache in this process forgets at once.
    /// A provider shared by nodes (PostgreSQL) also raises it when it hears of another node's write.
    /// </summary>
    event Action? Changed;
}
