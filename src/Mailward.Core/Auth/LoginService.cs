// Logins for POP3 (and later IMAP and SMTP AUTH), as vchkpw did them: login names user@domain,
// user%domain, or a bare user whose domain comes from the server address (vipmap) or the default
// domain; alias domains log in to their real domain. A success records the last login and
// upgrades a legacy hash. Successful verifications are cached in memory under a salted digest of
// name and password (Dovecot's auth_cache: no password is kept), valid only while the user's hash
// and flags are unchanged. Failures are throttled per client, per (client, login) and per account
// (LoginThrottle; SharedLoginThrottle on PostgreSQL, where all nodes count together); a name that
// does not exist costs the same Argon2 work as a wrong password. A throttle the store cannot answer
// fails the login temporarily (LoginFailure.Unavailable): the throttle is never skipped.
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.MailStore;
using Mailward.Core.Metrics;
using Mailward.Core.Passwords;

namespace Mailward.Core.Auth;

public sealed record LoginOptions
{
    public string DefaultDomain { get; init; } = "";
    public TimeSpan CacheLifetime { get; init; } = TimeSpan.FromMinutes(1);
    public int MaxFailuresPerClient { get; init; } = 10;
    public int MaxFailuresPerAccount { get; init; } = 20;
    public int MaxTrackedEntries { get; init; } = 100_000;
    public TimeSpan FailureWindow { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>Why a login failed, as RFC 2449/3206 response codes name it.</summary>
public enum LoginFailure
{
    None,
    BadCredentials,  // [AUTH]
    ServiceDisabled, // [SYS/PERM]: the account may not use this service
    Throttled,       // [AUTH]: too many failures from this address, or against this account
    Unavailable,     // [SYS/TEMP], 454, [UNAVAILABLE]: the account store cannot be reached now; not a failure of the client's
}

public sealed record LoginResult(LoginFailure Failure, UserRecord? User = null, bool FromCache = false)
{
    public bool Succeeded => Failure == LoginFailure.None;
}

/// <param name="store">Where logins are recorded and upgraded hashes written.</param>
/// <param name="directory">The lookups (the server's cached directory); null: <paramref name="store"/>'s own.</param>
public sealed class LoginService(IAccountStore store, PasswordHasher hasher, LoginOptions options, TimeProvider? time = null,
    Policy.RoamingRelay? roaming = null, IAccountDirectory? directory = null)
{
    private readonly IAccountDirectory _directory = directory ?? store;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly byte[] _salt = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, (long UserId, string Hash, UserFlags Flags, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);
    // Nodes on one PostgreSQL store count each other's failures; a SQLite store's one node counts its own.
    private readonly ILoginThrottle _throttle = store is ISharedCounters shared ? new SharedLoginThrottle(shared, options) : new LoginThrottle(options);

    /// <summary>The mailbox address a login name means, or null when it names no hosted domain.</summary>
    public async ValueTask<(string Local, DomainRecord Domain)?> ResolveAsync(string login, IPAddress? serverAddress, CancellationToken ct = default)
    {
        login = login.Trim();
        var at = login.LastIndexOfAny(['@', '%']);
        string local, domain;
        if (at > 0)
        {
            local = login[..at];
            domain = login[(at + 1)..];
        }
        else
        {
            local = login;
            domain = (serverAddress is null ? null : await _directory.MapIpToDomainAsync(Normalize(serverAddress).ToString(), ct)) ?? options.DefaultDomain;
        }
        if (domain.Length == 0 || !LocalPart.TryNormalize(local, out var l, out _) || !DomainName.TryNormalize(domain, out var d, out _))
            return null;
        return await _directory.FindDomainAsync(d, ct) is { } hosted ? (l, hosted) : null;
    }

    /// <summary>
    /// Verifies a login. <paramref name="refusedFlags"/> are the flags that bar this service
    /// (no-pop for POP3). Never says whether the name exists.
    /// </summary>
    public async Task<LoginResult> VerifyAsync(string login, string password, IPAddress client, IPAddress? server, string service, UserFlags refusedFlags,
        CancellationToken ct = default) =>
        MailwardMetrics.Login(service, await UnlessUnavailableAsync(() => VerifyPasswordAsync(login, password, client, server, service, refusedFlags, ct)));

    /// <summary>A login the account store could not answer is a temporary failure: neither counted against the client nor refused for good.</summary>
    private static async Task<LoginResult> UnlessUnavailableAsync(Func<Task<LoginResult>> verify)
    {
        try
        {
            return await verify();
        }
        catch (AccountStoreUnavailableException)
        {
            return new LoginResult(LoginFailure.Unavailable);
        }
    }

    private async Task<LoginResult> VerifyPasswordAsync(string login, string password, IPAddress client, IPAddress? server, string service, UserFlags refusedFlags,
        CancellationToken ct)
    {
        client = Normalize(client);
        var (user, account, now, throttled) = await BeginAsync(login, client, server, ct);
        if (throttled)
            return new LoginResult(LoginFailure.Throttled);
        if (user is null || password.Length == 0 || user.PasswordHash == PasswordHasher.NoPassword)
        {
            hasher.VerifyDummy(password); // the same Argon2 work as a wrong password: no timing tells which names exist
            return Failed(client, account, now);
        }
        var key = CacheKey(user.Address, password);
        var fromCache = _cache.TryGetValue(key, out var hit) && hit.UserId == user.Id && hit.Hash == user.PasswordHash && hit.Until > now;
        MailwardMetrics.LoginCacheUsed(fromCache);
        if (!fromCache)
        {
            if (!hasher.Verify(user.PasswordHash, password))
                return Failed(client, account, now);
            var remember = true;
            if (hasher.NeedsUpgrade(user.PasswordHash))
            {
                // Only the hash, and only while it is still the one verified: a flag or a new
                // password an admin writes meanwhile is kept (the cached record may be older).
                var upgraded = hasher.Hash(password);
                remember = store.UpgradePasswordHash(user.Id, user.PasswordHash, upgraded);
                if (remember)
                    user = user with { PasswordHash = upgraded };
            }
            if (remember)
                _cache[key] = (user.Id, user.PasswordHash, user.Flags, now + options.CacheLifetime);
        }
        _throttle.Succeeded(client, account, now);
        if ((user.Flags & refusedFlags) != 0)
            return new LoginResult(LoginFailure.ServiceDisabled, user);
        Succeeded(user, client, service, now);
        return new LoginResult(LoginFailure.None, user, fromCache);
    }

    /// <summary>Whether a second-factor step for <paramref name="user"/> from <paramref name="client"/> is refused now (the password's throttles).</summary>
    /// <exception cref="AccountStoreUnavailableException">The throttles are shared and the store cannot be reached: refuse the step for now.</exception>
    public bool IsThrottled(UserRecord user, IPAddress client) => _throttle.IsThrottled(Normalize(client), user.Address, _time.GetUtcNow());

    /// <summary>A wrong second factor (the web's TOTP code) counts as a failed login of the account, as a wrong password does.</summary>
    /// <exception cref="AccountStoreUnavailableException">The throttles are shared and the store cannot be reached.</exception>
    public void SecondFactorFailed(UserRecord user, IPAddress client) => _throttle.Failed(Normalize(client), user.Address, _time.GetUtcNow());

    /// <summary>
    /// May <paramref name="user"/> use <paramref name="sender"/> as its envelope sender? Its own
    /// mailbox (also under an alias domain), an alias of its own domain (or an alias domain of it)
    /// that delivers to it, the null sender, or, for a domain admin, any address of its domain. An
    /// alias in another tenant's domain that forwards here confers no identity: anyone may forward
    /// to anyone.
    /// </summary>
    public async ValueTask<bool> MayUseSenderAsync(UserRecord user, string sender, CancellationToken ct = default)
    {
        if (sender.Length == 0)
            return true;
        var at = sender.LastIndexOf('@');
        if (at <= 0 || !LocalPart.TryNormalize(sender[..at], out var local, out _) || !DomainName.TryNormalize(sender[(at + 1)..], out var d, out _))
            return false;
        var domain = await _directory.FindDomainAsync(d, ct);
        if (domain is null || domain.Id != user.DomainId)
            return false;
        if (local == user.Local || user.Flags.HasFlag(UserFlags.DomainAdmin))
            return true;
        var alias = await _directory.FindAliasAsync(local, domain.Name, ct);
        return alias is not null && alias.Lines.Any(l => l.TrimStart('&').Equals(user.Address, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>APOP (RFC 1939 §7): MD5 of the greeting's timestamp and the clear-text password, where a clear copy exists.</summary>
    public async Task<LoginResult> VerifyApopAsync(string login, string timestamp, string digest, IPAddress client, IPAddress? server, string service,
        UserFlags refusedFlags, CancellationToken ct = default) =>
        MailwardMetrics.Login(service, await UnlessUnavailableAsync(() => VerifyDigestAsync(login, timestamp, digest, client, server, service, refusedFlags, ct)));

    private async Task<LoginResult> VerifyDigestAsync(string login, string timestamp, string digest, IPAddress client, IPAddress? server, string service,
        UserFlags refusedFlags, CancellationToken ct)
    {
        client = Normalize(client);
        var (user, account, now, throttled) = await BeginAsync(login, client, server, ct);
        if (throttled)
            return new LoginResult(LoginFailure.Throttled);
        if (user?.ClearPassword is not { Length: > 0 } clear)
            return Failed(client, account, now);
#pragma warning disable CA5351 // APOP is defined with MD5; it is offered only where a clear-text copy is stored anyway
        var expected = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(timestamp + clear)));
#pragma warning restore CA5351
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(digest.ToLowerInvariant())))
            return Failed(client, account, now);
        _throttle.Succeeded(client, account, now);
        if ((user.Flags & refusedFlags) != 0)
            return new LoginResult(LoginFailure.ServiceDisabled, user);
        Succeeded(user, client, service, now);
        return new LoginResult(LoginFailure.None, user);
    }

    /// <summary>
    /// The common start of a login: the account the name means (its canonical address, or the
    /// name itself when it names none: unknown names are throttled alike, so the throttle tells
    /// nothing either), the clock, the throttle, and the user.
    /// </summary>
    private async ValueTask<(UserRecord? User, string Account, DateTimeOffset Now, bool Throttled)> BeginAsync(string login, IPAddress client, IPAddress? server,
        CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var target = await ResolveAsync(login, server, ct);
        var account = target is { } t ? $"{t.Local}@{t.Domain.Name}" : login.Trim().ToLowerInvariant();
        if (account.Length > 320)
            account = account[..320];
        if (_throttle.IsThrottled(client, account, now))
            return (null, account, now, true);
        return (target is { } u ? await _directory.FindUserAsync(u.Local, u.Domain.Name, ct) : null, account, now, false);
    }

    /// <summary>vpopmail's last-auth record, and the roaming grant for a user who may send (no no-relay, no-smtp or bounce-mail flag).</summary>
    private void Succeeded(UserRecord user, IPAddress client, string service, DateTimeOffset now)
    {
        store.RecordLogin(user.Id, new LastLogin(now, client.ToString(), service));
        if (service is "pop3" or "imap" && (user.Flags & (UserFlags.NoRelay | UserFlags.NoSmtp | UserFlags.BounceMail)) == 0)
            roaming?.Grant(client, user);
    }

    private LoginResult Failed(IPAddress client, string account, DateTimeOffset now)
    {
        _throttle.Failed(client, account, now);
        return new LoginResult(LoginFailure.BadCredentials);
    }

    private string CacheKey(string address, string password)
    {
        var input = Encoding.UTF8.GetBytes(address.ToLowerInvariant() + "\0" + password);
        return Convert.ToBase64String(HMACSHA256.HashData(_salt, input));
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
