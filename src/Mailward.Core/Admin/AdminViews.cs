// What the admin layer hands out: read models built from the store's records, without the store's
// ids and without secrets. No password hash or clear-text copy ever leaves through these; the one
// way to them is UserSecrets, which only the command line may read (AdminAuthorizer).
using Mailward.Core.Accounts;

namespace Mailward.Core.Admin;

public sealed record DomainView(string Name, CatchAll CatchAll, DomainLimits Limits, DateTimeOffset CreatedAt);

public sealed record DomainInfo(DomainView Domain, IReadOnlyList<string> AliasDomains, int Users, int Aliases, int Forwards, string Folder);

/// <summary>An alias domain and the real domain it is another name of.</summary>
public sealed record DomainAliasView(string Alias, string Domain);

public sealed record UserView(
    string Local,
    string Domain,
    string Gecos,
    Quota Quota,
    UserFlags Flags,
    string Folder,
    DateTimeOffset CreatedAt,
    LastLogin? LastLogin,
    bool CanLogIn,
    bool LegacyHash)
{
    public string Address => $"{Local}@{Domain}";

    /// <summary>The Maildir inside the user's folder.</summary>
    public string Maildir => MailStore.MailStoreLayout.MaildirOf(Folder);
}

/// <summary>vuserinfo -p and -C: the command line's alone.</summary>
public sealed record UserSecrets(string Address, string PasswordHash, string? ClearPassword);

public sealed record AliasView(string Local, string Domain, IReadOnlyList<string> Lines)
{
    public string Address => $"{Local}@{Domain}";

    /// <summary>All lines forward (&amp;address): counted against MaxForwards rather than MaxAliases.</summary>
    public bool IsForward => Lines.Count > 0 && Lines.All(l => l.StartsWith('&'));
}

public sealed record RelayRuleView(string Network, RelayAction Action, string Comment, DateTimeOffset CreatedAt);

public sealed record RoamingView(string Address, string Login, DateTimeOffset GrantedAt, DateTimeOffset ExpiresAt);

public sealed record IpMapView(string Address, string Domain);

public sealed record DomainResult(DomainView Domain, UserView? Postmaster, string? GeneratedPassword);

public sealed record UserResult(UserView User, string? GeneratedPassword);

/// <summary>vmoduser / user mod: what to change; null or empty leaves a field as it is.</summary>
public sealed record UserChange
{
    public bool ClearFlags { get; init; }
    public UserFlags Set { get; init; }
    public UserFlags Unset { get; init; }
    public string? Gecos { get; init; }
    public Quota? Quota { get; init; }
    public PasswordInput? Password { get; init; }
}

/// <summary>An address's autoresponder as the admin faces show it (docs/autoresponder.md).</summary>
public sealed record AutoresponderView(
    string Address,
    string Subject,
    string Text,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    int IntervalDays,
    bool Deliver,
    DateTimeOffset UpdatedAt,
    bool ActiveNow,
    int RememberedSenders);

/// <summary>vacation set / user mod: what to set; null keeps the stored value (or the default for a new one).</summary>
public sealed record AutoresponderChange
{
    public string? Text { get; init; }
    public string? Subject { get; init; }
    public DateTimeOffset? StartsAt { get; init; }
    public DateTimeOffset? EndsAt { get; init; }
    /// <summary>Clear a stored start or end (open the window on that side).</summary>
    public bool ClearStart { get; init; }
    public bool ClearEnd { get; init; }
    public int? IntervalDays { get; init; }
    public bool? Deliver { get; init; }
}

/// <summary>The bounds AccountAdmin checks an autoresponder against (settings Autoresponder:*).</summary>
public sealed record AutoresponderLimits(int MaxTextBytes = 65536, int DefaultIntervalDays = 7)
{
    public const int MaxIntervalDays = 365;
    public const int MaxSubjectLength = 998; // RFC 5322 §2.1.1's line limit
    public const string DefaultSubject = "Out of office";
    public static readonly AutoresponderLimits Default = new();
}
