// The admin operations by name, and what AdminAuthorizer is told about one request: the domain and
// user it touches and the values it would set. The audit names operations with the same names.
using Mailward.Core.Accounts;

namespace Mailward.Core.Admin;

public enum AdminOperation
{
    ListDomains,
    ReadDomain,
    AddDomain,
    DeleteDomain,
    AddDomainAlias,
    DeleteDomainAlias,
    SetCatchAll,
    SetDomainLimits,
    ListUsers,
    ReadUser,
    /// <summary>The password hash and clear-text copy (vuserinfo -p/-C): the command line only.</summary>
    ReadUserSecrets,
    AddUser,
    DeleteUser,
    SetPassword,
    SetQuota,
    ModifyUser,
    ListAliases,
    AddAliasLine,
    DeleteAlias,
    ListRelayRules,
    SetRelayRule,
    DeleteRelayRule,
    ListIpMap,
    AddIpMap,
    DeleteIpMap,
    ListAutoresponders,
    ReadAutoresponder,
    SetAutoresponder,
    DeleteAutoresponder,
    ListApiKeys,
    AddApiKey,
    RevokeApiKey,
    ListAdmins,
    GrantAdmin,
    RevokeAdmin,
    /// <summary>An account's own second factor: enrol, confirm, read whether it is on.</summary>
    SetTotp,
    /// <summary>Turn an account's second factor off (its own, or the system's reset of a lost one).</summary>
    DeleteTotp,
    /// <summary>Replace a user's forward (addresses, and a copy kept in its own mailbox): the web's forward page.</summary>
    SetForward,
    /// <summary>The queue (the running server's): list, retry now, delete one message.</summary>
    ListQueue,
    FlushQueue,
    DeleteQueued,
    /// <summary>Read the audit log (AccountAdmin.ListAuditAsync).</summary>
    ReadAudit,
    /// <summary>Mailing lists (AccountAdmin.Lists.cs): see a domain's lists, a list and its member sets; add, delete, set, change members.</summary>
    ListLists,
    AddList,
    DeleteList,
    SetList,
    ChangeListMembers,
}

/// <summary>
/// One request as the authorizer sees it. <see cref="Domain"/> is the real domain the target
/// belongs to (alias domains resolved), or the name as given when it names no hosted domain.
/// </summary>
public sealed record AdminRequest(AdminOperation Operation, string? Domain = null, string? User = null)
{
    /// <summary>The target user's flags as they are (a domain admin may not touch a system admin).</summary>
    public UserFlags TargetFlags { get; init; }

    /// <summary>The flags the request would set or clear.</summary>
    public UserFlags FlagsChanged { get; init; }

    /// <summary>A quota the request would give a user.</summary>
    public Quota? Quota { get; init; }

    /// <summary>The target domain's limits, against which a quota is checked.</summary>
    public DomainLimits? Limits { get; init; }

    /// <summary>A delivery line the request would add (normalised: &amp;address, /path, |program).</summary>
    public string? DeliveryLine { get; init; }

    /// <summary>How a password would be given.</summary>
    public PasswordInput? Password { get; init; }
}
