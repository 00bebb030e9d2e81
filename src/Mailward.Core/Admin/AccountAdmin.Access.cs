// Who may use the web admin and the API beyond the flags: API keys (made by a system admin or the
// command line, scoped to the system or to domains, read-only or read-write, with an expiry; the
// secret shown once, only its hash stored), admins of several domains (grants), and an account's
// TOTP second factor (docs/web-admin.md).
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Auth;

namespace Mailward.Core.Admin;

/// <summary>How long keys live: the default when none is given, and the most any may.</summary>
public sealed record ApiKeyLimits(TimeSpan DefaultLifetime, TimeSpan MaxLifetime)
{
    public static readonly ApiKeyLimits Default = new(TimeSpan.FromDays(90), TimeSpan.FromDays(365));

    public static ApiKeyLimits From(Configuration.MailwardSettings s) =>
        new(TimeSpan.FromDays(s.GetInt("Admin:ApiKeyDefaultDays", 1, 3650)), TimeSpan.FromDays(s.GetInt("Admin:ApiKeyMaxDays", 1, 3650)));
}

/// <summary>A key as it is listed: no secret, no hash. <see cref="Domains"/> null: the whole system.</summary>
public sealed record ApiKeyView(string Name, string Id, IReadOnlyList<string>? Domains, bool ReadOnly, string CreatedBy,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt)
{
    public string Scope => Domains is null ? "system" : string.Join(",", Domains);

    public string State(DateTimeOffset now) => RevokedAt is not null ? "revoked" : ExpiresAt <= now ? "expired" : "active";
}

/// <summary>A new key and its token, which is shown this once and stored nowhere.</summary>
public sealed record NewApiKey(ApiKeyView Key, string Token);

/// <summary>A TOTP secret being enrolled, shown once: the base32 secret and the otpauth:// URI.</summary>
public sealed record TotpEnrolment(string Address, string Secret, string Uri);

public enum TotpCheck
{
    /// <summary>The account has no confirmed second factor.</summary>
    NotEnrolled,
    Accepted,
    Wrong,
    /// <summary>A code of a step already used (RFC 6238 section 5.2: accept a code once).</summary>
    Replayed,
}

public sealed partial class AccountAdmin
{
    public ApiKeyLimits ApiKeys { get; init; } = ApiKeyLimits.Default;

    /// <summary>TOTP steps accepted either side of now (clock drift).</summary>
    public int TotpSkewSteps { get; init; } = 1;

    // --- API keys ------------------------------------------------------------------------------

    /// <summary>A new key; <paramref name="domains"/> null scopes it to the system. The token is in the result only.</summary>
    public Task<NewApiKey> AddApiKeyAsync(Actor actor, string name, IReadOnlyList<string>? domains, bool readOnly, TimeSpan? lifetime = null) =>
        ChangeAsync(actor, AdminOperation.AddApiKey, name, () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.AddApiKey));
        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            throw new AccountException(AccountError.InvalidArgument, $"a key's name is 1 to 64 letters, digits, '.', '-' or '_', not '{name}'");
        var life = lifetime ?? ApiKeys.DefaultLifetime;
        if (life <= TimeSpan.Zero || life > ApiKeys.MaxLifetime)
            throw new AccountException(AccountError.InvalidArgument, $"a key lives 1 to {ApiKeys.MaxLifetime.TotalDays:0} days (Admin:ApiKeyMaxDays)");
        List<long>? ids = null;
        if (domains is not null)
        {
            if (domains.Count == 0)
                throw new AccountException(AccountError.InvalidArgument, "a key scoped to domains names at least one");
            ids = domains.Select(d => RequireDomain(DomainName.Normalize(d), store.FindDomain(DomainName.Normalize(d)), allowAlias: false).Id).Distinct().ToList();
        }
        var (id, secret, token) = ApiKeyToken.New();
        var now = _time.GetUtcNow();
        store.AddApiKey(new ApiKeyRecord(id, name, ApiKeyToken.Hash(secret), null, readOnly, actor.Name, TruncateToSeconds(now), TruncateToSeconds(now + life), null), ids);
        return new NewApiKey(View(store.FindApiKey(id)!), token);
    });

    public Task<IReadOnlyList<ApiKeyView>> ListApiKeysAsync(Actor actor)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ListApiKeys));
        return Task.FromResult<IReadOnlyList<ApiKeyView>>(store.ListApiKeys().Select(View).ToList());
    }

    /// <summary>Revokes the key named so: from this moment it is refused (every request reads the store).</summary>
    public Task RevokeApiKeyAsync(Actor actor, string name) => ChangeAsync(actor, AdminOperation.RevokeApiKey, name, () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.RevokeApiKey));
        if (!store.RevokeApiKey(name, _time.GetUtcNow()))
            throw new AccountException(AccountError.InvalidArgument, $"no live API key named {name}");
        return true;
    });

    /// <summary>The actor a bearer token is, or null (not a key, unknown, wrong secret, revoked or expired).</summary>
    public Actor? ActorForApiKey(string token)
    {
        if (ApiKeyToken.Parse(token) is not { } t || store.FindApiKey(t.Id) is not { } key || !ApiKeyToken.Matches(t.Secret, key.SecretHash))
            return null;
        if (key.RevokedAt is not null || key.ExpiresAt <= _time.GetUtcNow())
            return null;
        return Actor.ApiKey(key.Name, key.Domains, key.ReadOnly);
    }

    private static ApiKeyView View(ApiKeyRecord k) => new(k.Name, k.Id, k.Domains, k.ReadOnly, k.CreatedBy, k.CreatedAt, k.ExpiresAt, k.RevokedAt);

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset t) => DateTimeOffset.FromUnixTimeSeconds(t.ToUnixTimeSeconds());

    // --- admins of several domains ------------------------------------------------------------------

    /// <summary>
    /// The actor a logged-in account is: a system admin (flag), else the admin of its own domain (the
    /// postmaster or the domain-admin flag) and of the domains granted to it, else a user of itself.
    /// </summary>
    public Actor ActorOf(UserRecord user)
    {
        var actor = Actor.For(user);
        if (actor.Kind == ActorKind.SystemAdmin)
            return actor;
        var granted = store.ListAdminGrants(user.Id);
        return granted.Count == 0 ? actor : Actor.DomainAdmin(user.Address, [.. actor.Domains, .. granted]);
    }

    /// <summary>Makes an account an admin of a domain (any domain: its own or another).</summary>
    public Task<bool> GrantAdminAsync(Actor actor, string address, string domain) => ChangeAsync(actor, AdminOperation.GrantAdmin, $"{address} {domain}", () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.GrantAdmin));
        var (user, d) = GrantTarget(address, domain);
        return store.AddAdminGrant(user.Id, d.Id);
    });

    public Task<bool> RevokeAdminAsync(Actor actor, string address, string domain) => ChangeAsync(actor, AdminOperation.RevokeAdmin, $"{address} {domain}", () =>
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.RevokeAdmin));
        var (user, d) = GrantTarget(address, domain);
        return store.DeleteAdminGrant(user.Id, d.Id);
    });

    /// <summary>Every grant (the admins by flag or as a domain's postmaster are not grants: `user list` shows their flags).</summary>
    public Task<IReadOnlyList<AdminGrant>> ListAdminGrantsAsync(Actor actor)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ListAdmins));
        return Task.FromResult(store.ListAllAdminGrants());
    }

    private (UserRecord User, DomainRecord Domain) GrantTarget(string address, string domain)
    {
        var a = MailAddress.Parse(address);
        var user = store.FindUser(a.Local, a.Domain) ?? throw new AccountException(AccountError.UserNotFound, $"user does not exist: {a}");
        var n = DomainName.Normalize(domain);
        return (user, RequireDomain(n, store.FindDomain(n), allowAlias: false));
    }

    // --- TOTP second factor --------------------------------------------------------------------------

    /// <summary>Starts (or restarts) an account's enrolment: a new secret, off until a code from it is confirmed.</summary>
    public Task<TotpEnrolment> BeginTotpAsync(Actor actor, string address, string issuer) => ChangeAsync(actor, AdminOperation.SetTotp, address, () =>
    {
        var user = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.SetTotp, u.Domain, u.Address) { TargetFlags = u.Flags });
        var secret = Totp.NewSecret();
        store.SetTotp(new TotpRecord(user.Id, secret, Confirmed: false, LastStep: 0, _time.GetUtcNow()));
        return new TotpEnrolment(user.Address, secret, Totp.Uri(issuer, user.Address, secret));
    });

    /// <summary>Turns the enrolled secret on with a code from it; a wrong code is InvalidArgument.</summary>
    public Task ConfirmTotpAsync(Actor actor, string address, string code) => ChangeAsync(actor, AdminOperation.SetTotp, address, () =>
    {
        var user = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.SetTotp, u.Domain, u.Address) { TargetFlags = u.Flags });
        var t = store.FindTotp(user.Id) ?? throw new AccountException(AccountError.InvalidArgument, $"{user.Address} has not begun to enrol a second factor");
        if (Totp.Match(t.Secret, code, _time.GetUtcNow(), TotpSkewSteps) is not { } step || !store.TryUseTotpStep(user.Id, step))
            throw new AccountException(AccountError.InvalidArgument, "wrong code: the second factor stays off (check the device's clock)");
        return true;
    });

    public Task<bool> DeleteTotpAsync(Actor actor, string address) => ChangeAsync(actor, AdminOperation.DeleteTotp, address, () =>
    {
        var user = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.DeleteTotp, u.Domain, u.Address) { TargetFlags = u.Flags });
        return store.DeleteTotp(user.Id);
    });

    /// <summary>Whether an account's second factor is on (confirmed).</summary>
    public bool HasTotp(UserRecord user) => store.FindTotp(user.Id) is { Confirmed: true };

    /// <summary>The login's second step: the code of a confirmed secret, each time step accepted once.</summary>
    public TotpCheck CheckTotp(UserRecord user, string code)
    {
        if (store.FindTotp(user.Id) is not { Confirmed: true } t)
            return TotpCheck.NotEnrolled;
        if (Totp.Match(t.Secret, code, _time.GetUtcNow(), TotpSkewSteps) is not { } step)
            return TotpCheck.Wrong;
        return store.TryUseTotpStep(user.Id, step) ? TotpCheck.Accepted : TotpCheck.Replayed;
    }
}
