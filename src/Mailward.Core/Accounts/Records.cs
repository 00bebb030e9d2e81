// The account store's records: domains with their limits and catch-all, users, alias lines,
// relay rules and IP-to-domain mappings. Plain immutable data; the store and AccountAdmin act on it.
namespace Mailward.Core.Accounts;

/// <summary>What happens to mail for an address of a hosted domain that matches nothing.</summary>
public enum CatchAllKind
{
    Bounce = 0,    // vadddomain -b (default)
    Delete = 1,    // accepted and dropped
    Mailbox = 2,   // delivered to a user of the domain (Target = local part)
    Forward = 3,   // forwarded to an address (vadddomain -e; Target = address)
}

public sealed record CatchAll(CatchAllKind Kind, string? Target = null)
{
    public static readonly CatchAll Bounce = new(CatchAllKind.Bounce);

    public override string ToString() => Kind switch
    {
        CatchAllKind.Bounce => "bounce",
        CatchAllKind.Delete => "delete",
        CatchAllKind.Mailbox => $"mailbox:{Target}",
        _ => $"forward:{Target}",
    };
}

/// <summary>vmoddomlimits' limits; null is "no limit".</summary>
public sealed record DomainLimits
{
    public int? MaxUsers { get; init; }
    public int? MaxAliases { get; init; }
    public int? MaxForwards { get; init; }
    public int? MaxAutoresponders { get; init; }
    public int? MaxLists { get; init; }
    public Quota DomainQuota { get; init; } = Quota.Unlimited;
    public Quota DefaultUserQuota { get; init; } = Quota.Unlimited;

    public static readonly DomainLimits None = new();
}

public sealed record DomainRecord(
    long Id,
    string Name,
    string Directory,
    CatchAll CatchAll,
    DomainLimits Limits,
    DateTimeOffset CreatedAt);

public sealed record UserRecord(
    long Id,
    long DomainId,
    string Domain,
    string Local,
    string PasswordHash,
    string? ClearPassword,
    string Gecos,
    Quota Quota,
    UserFlags Flags,
    string Directory,
    DateTimeOffset CreatedAt,
    LastLogin? LastLogin)
{
    public string Address => $"{Local}@{Domain}";
}

public sealed record LastLogin(DateTimeOffset At, string Address, string Service);

/// <summary>One delivery instruction line of an alias (vpopmail's valias, qmail's .qmail).</summary>
public sealed record AliasRecord(string Local, string Domain, IReadOnlyList<string> Lines)
{
    public string Address => $"{Local}@{Domain}";

    /// <summary>All lines forward (&amp;address): counted against MaxForwards rather than MaxAliases.</summary>
    public bool IsForward => Lines.Count > 0 && Lines.All(l => l.StartsWith('&'));
}

public enum RelayAction
{
    Allow = 1,
    Deny = 2,
}

public sealed record RelayRule(string Network, RelayAction Action, string Comment, DateTimeOffset CreatedAt);

public sealed record IpMapEntry(string Address, string Domain);

/// <summary>A roaming user's relay right for one client address (vpopmail's relay table, open-smtp): the user logged in from there.</summary>
public sealed record RoamingGrant(string Address, long UserId, string Login, DateTimeOffset GrantedAt, DateTimeOffset ExpiresAt);

/// <summary>Fields a new user is created with.</summary>
public sealed record NewUser(string Local, string PasswordHash, string? ClearPassword, string Gecos, Quota? Quota, UserFlags Flags = UserFlags.None);

/// <summary>
/// The fields of a user one write changes; everything else is left as the store holds it, so two
/// changes made at the same moment (an admin's flag, a login's hash upgrade) both survive.
/// </summary>
public sealed record UserPatch
{
    /// <summary>Flags turned on (applied before <see cref="UnsetFlags"/>).</summary>
    public UserFlags SetFlags { get; init; }
    public UserFlags UnsetFlags { get; init; }
    public string? Gecos { get; init; }
    public Quota? Quota { get; init; }
    public PasswordChange? Password { get; init; }

    public bool IsEmpty => SetFlags == UserFlags.None && UnsetFlags == UserFlags.None && Gecos is null && Quota is null && Password is null;
}

/// <summary>A new password: its hash, and the clear-text copy kept for APOP (null: none kept).</summary>
public sealed record PasswordChange(string Hash, string? ClearPassword);

/// <summary>
/// An address's automatic answer (docs/autoresponder.md): the text, the subject used when the
/// message answered has none, the window it acts in (either end open), how often one sender may be
/// answered, and whether the mail is still delivered.
/// </summary>
public sealed record AutoresponderRecord(
    long DomainId,
    string Local,
    string Subject,
    string Body,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    int IntervalDays,
    bool Deliver,
    DateTimeOffset UpdatedAt)
{
    /// <summary>Acting at <paramref name="now"/>: from StartsAt (inclusive) until EndsAt (exclusive).</summary>
    public bool ActiveAt(DateTimeOffset now) => (StartsAt is not { } s || now >= s) && (EndsAt is not { } e || now < e);
}
