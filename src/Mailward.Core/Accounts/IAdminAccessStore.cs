// The web admin's access records (issue 13, docs/web-admin.md): API keys (a hash of the secret,
// never the secret), the domains an account administers beyond its own, and TOTP second factors.
// An account's grants and TOTP go with the account; a domain's grants and key scopes with the domain.
namespace Mailward.Core.Accounts;

/// <summary>An API key. <see cref="Domains"/> is null for a key scoped to the whole system.</summary>
public sealed record ApiKeyRecord(
    string Id,
    string Name,
    string SecretHash,
    IReadOnlyList<string>? Domains,
    bool ReadOnly,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? RevokedAt);

/// <summary>An account's TOTP secret (base32); unconfirmed until a code from it was entered once.</summary>
public sealed record TotpRecord(long UserId, string Secret, bool Confirmed, long LastStep, DateTimeOffset CreatedAt);

/// <summary>One grant: an account that administers a domain other than by its own flags.</summary>
public sealed record AdminGrant(string Address, string Domain);

public interface IAdminAccessStore
{
    /// <summary>Adds a key; a name already taken (also by a revoked key: names are never reused) fails with InvalidArgument.</summary>
    void AddApiKey(ApiKeyRecord key, IReadOnlyList<long>? domainIds);

    /// <summary>The key with this id (the public part of the token), or null.</summary>
    ApiKeyRecord? FindApiKey(string id);

    IReadOnlyList<ApiKeyRecord> ListApiKeys();

    /// <summary>Marks the key named so revoked at <paramref name="at"/>; false when no live key has that name.</summary>
    bool RevokeApiKey(string name, DateTimeOffset at);

    /// <summary>Grants an account the administration of a domain; false when it had it already.</summary>
    bool AddAdminGrant(long userId, long domainId);

    /// <summary>false when there was no such grant.</summary>
    bool DeleteAdminGrant(long userId, long domainId);

    /// <summary>The domains granted to an account (names, sorted).</summary>
    IReadOnlyList<string> ListAdminGrants(long userId);

    /// <summary>Every grant, by address.</summary>
    IReadOnlyList<AdminGrant> ListAllAdminGrants();

    TotpRecord? FindTotp(long userId);

    /// <summary>Adds or replaces an account's TOTP record.</summary>
    void SetTotp(TotpRecord totp);

    bool DeleteTotp(long userId);

    /// <summary>
    /// Records <paramref name="step"/> as used when it is later than the last one used, and marks the
    /// record confirmed, in one statement: false when it (or a later one) was used already (a replay).
    /// </summary>
    bool TryUseTotpStep(long userId, long step);
}
