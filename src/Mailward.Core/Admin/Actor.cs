// Who asks for an admin operation: the command line (acting as the system), a system admin, the
// admin of some domains, a user about itself, or an API key scoped to the system or to domains,
// read-only or read-write. AdminAuthorizer decides from this alone; nothing else grants rights.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Core.Admin;

public enum ActorKind
{
    /// <summary>The command line: whoever runs it can read the account store's file anyway.</summary>
    System,
    SystemAdmin,
    DomainAdmin,
    User,
    ApiKey,
}

public sealed record Actor
{
    private Actor(ActorKind kind, string name, IReadOnlyList<string> domains, bool readOnly)
    {
        Kind = kind;
        Name = name;
        Domains = domains;
        ReadOnly = readOnly;
    }

    public ActorKind Kind { get; }

    /// <summary>For the audit: "system", a login address, or a key's name.</summary>
    public string Name { get; }

    /// <summary>The domains a domain admin or a scoped key administers (A-labels); empty for the others.</summary>
    public IReadOnlyList<string> Domains { get; }

    /// <summary>A key that may read but change nothing.</summary>
    public bool ReadOnly { get; }

    /// <summary>Where the request came from, for the audit log ("web 192.0.2.1"); null: the command line.</summary>
    public string? Origin { get; init; }

    /// <summary>The command line.</summary>
    public static readonly Actor System = new(ActorKind.System, "system", [], false);

    public static Actor SystemAdmin(string address) => new(ActorKind.SystemAdmin, MailAddress.Parse(address).ToString(), [], false);

    public static Actor DomainAdmin(string address, params IEnumerable<string> domains)
    {
        var list = domains.Select(DomainName.Normalize).Distinct(StringComparer.Ordinal).ToList();
        return list.Count == 0
            ? throw new ArgumentException("a domain admin administers at least one domain", nameof(domains))
            : new(ActorKind.DomainAdmin, MailAddress.Parse(address).ToString(), list, false);
    }

    /// <summary>A user acting on its own account (self-service).</summary>
    public static Actor User(string address) => new(ActorKind.User, MailAddress.Parse(address).ToString(), [], false);

    /// <summary>An API key; <paramref name="domains"/> null scopes it to the whole system.</summary>
    public static Actor ApiKey(string name, IEnumerable<string>? domains, bool readOnly) =>
        new(ActorKind.ApiKey, name, domains?.Select(DomainName.Normalize).Distinct(StringComparer.Ordinal).ToList() ?? [], readOnly)
        {
            SystemScope = domains is null,
        };

    /// <summary>Rights over every domain: the command line, a system admin, a key scoped to the system.</summary>
    public bool HasSystemScope => Kind is ActorKind.System or ActorKind.SystemAdmin || SystemScope;

    private bool SystemScope { get; init; }

    /// <summary>May administer <paramref name="domain"/> (an A-label of a real, not alias, domain).</summary>
    public bool Administers(string domain) => HasSystemScope || Domains.Contains(domain, StringComparer.Ordinal);

    /// <summary>The acting user's own address, for the self-service rules; null for the system and keys.</summary>
    public string? Address => Kind is ActorKind.SystemAdmin or ActorKind.DomainAdmin or ActorKind.User ? Name : null;

    /// <summary>
    /// The actor a logged-in account is: a system admin (system-admin flag), the admin of its domain
    /// (the domain's postmaster, or the domain-admin flag), else a user of itself.
    /// </summary>
    internal static Actor For(UserRecord user) =>
        user.Flags.HasFlag(UserFlags.SystemAdmin) ? SystemAdmin(user.Address)
        : user.Flags.HasFlag(UserFlags.DomainAdmin) || user.Local == "postmaster" ? DomainAdmin(user.Address, user.Domain)
        : User(user.Address);

    public override string ToString() => Kind switch
    {
        ActorKind.System => "system",
        ActorKind.DomainAdmin => $"domain-admin {Name} ({string.Join(",", Domains)})",
        ActorKind.ApiKey => $"api-key {Name} ({(SystemScope ? "system" : string.Join(",", Domains))}{(ReadOnly ? ", read-only" : "")})",
        _ => $"{Kind.ToString().ToLowerInvariant()} {Name}",
    };
}
