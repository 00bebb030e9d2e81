// Who may do what: the one place an admin operation is authorized. The table says which actors
// reach an operation at all (scope) and whether it writes; the rules below it bound what a domain
// admin or a user may set once reached. Every AccountAdmin operation asks once, before it changes
// anything and before it says whether its target exists outside the actor's domains.
using Mailward.Core.Accounts;

namespace Mailward.Core.Admin;

public static class AdminAuthorizer
{
    /// <summary>Who an operation is open to, widest last.</summary>
    public enum Scope
    {
        /// <summary>Only the command line (Actor.System).</summary>
        CommandLine,
        /// <summary>The command line, system admins, keys scoped to the system.</summary>
        System,
        /// <summary>And the admins (and keys) of the target's domain.</summary>
        Domain,
        /// <summary>And the user the request is about.</summary>
        Self,
    }

    public sealed record Rule(Scope Scope, bool Writes);

    public static readonly IReadOnlyDictionary<AdminOperation, Rule> Table = new Dictionary<AdminOperation, Rule>
    {
        [AdminOperation.ListDomains] = new(Scope.Domain, Writes: false),
        [AdminOperation.ReadDomain] = new(Scope.Domain, Writes: false),
        [AdminOperation.AddDomain] = new(Scope.System, Writes: true),
        [AdminOperation.DeleteDomain] = new(Scope.System, Writes: true),
        // Claiming a new name for a domain takes that name's mail from everyone: the system decides.
        [AdminOperation.AddDomainAlias] = new(Scope.System, Writes: true),
        [AdminOperation.DeleteDomainAlias] = new(Scope.Domain, Writes: true),
        [AdminOperation.SetCatchAll] = new(Scope.Domain, Writes: true),
        // The limits are what the system grants a domain; its admin works within them.
        [AdminOperation.SetDomainLimits] = new(Scope.System, Writes: true),
        [AdminOperation.ListUsers] = new(Scope.Domain, Writes: false),
        [AdminOperation.ReadUser] = new(Scope.Self, Writes: false),
        // The hash and any clear-text copy never leave through a network face.
        [AdminOperation.ReadUserSecrets] = new(Scope.CommandLine, Writes: false),
        [AdminOperation.AddUser] = new(Scope.Domain, Writes: true),
        [AdminOperation.DeleteUser] = new(Scope.Domain, Writes: true),
        [AdminOperation.SetPassword] = new(Scope.Self, Writes: true),
        [AdminOperation.SetQuota] = new(Scope.Domain, Writes: true),
        [AdminOperation.ModifyUser] = new(Scope.Domain, Writes: true),
        [AdminOperation.ListAliases] = new(Scope.Domain, Writes: false),
        // A user's own forward; the line rules below keep it to addresses.
        [AdminOperation.AddAliasLine] = new(Scope.Self, Writes: true),
        [AdminOperation.DeleteAlias] = new(Scope.Self, Writes: true),
        [AdminOperation.ListRelayRules] = new(Scope.System, Writes: false),
        [AdminOperation.SetRelayRule] = new(Scope.System, Writes: true),
        [AdminOperation.DeleteRelayRule] = new(Scope.System, Writes: true),
        [AdminOperation.ListIpMap] = new(Scope.System, Writes: false),
        [AdminOperation.AddIpMap] = new(Scope.System, Writes: true),
        [AdminOperation.DeleteIpMap] = new(Scope.System, Writes: true),
        // A user's own vacation message; an alias address's autoresponder is its domain admins'.
        [AdminOperation.ListAutoresponders] = new(Scope.Domain, Writes: false),
        [AdminOperation.ReadAutoresponder] = new(Scope.Self, Writes: false),
        [AdminOperation.SetAutoresponder] = new(Scope.Self, Writes: true),
        [AdminOperation.DeleteAutoresponder] = new(Scope.Self, Writes: true),
        // Keys and admins are what the system grants; a key makes neither (below).
        [AdminOperation.ListApiKeys] = new(Scope.System, Writes: false),
        [AdminOperation.AddApiKey] = new(Scope.System, Writes: true),
        [AdminOperation.RevokeApiKey] = new(Scope.System, Writes: true),
        [AdminOperation.ListAdmins] = new(Scope.System, Writes: false),
        [AdminOperation.GrantAdmin] = new(Scope.System, Writes: true),
        [AdminOperation.RevokeAdmin] = new(Scope.System, Writes: true),
        // Only the account itself or the system (below): a domain admin cannot weaken another's login.
        [AdminOperation.SetTotp] = new(Scope.Self, Writes: true),
        [AdminOperation.DeleteTotp] = new(Scope.Self, Writes: true),
        // A user's own forward (addresses only; the kept copy is its own mailbox, made here, never typed).
        [AdminOperation.SetForward] = new(Scope.Self, Writes: true),
        // The queue holds every domain's mail: the system's (as `mailward queue`).
        [AdminOperation.ListQueue] = new(Scope.System, Writes: false),
        [AdminOperation.FlushQueue] = new(Scope.System, Writes: true),
        [AdminOperation.DeleteQueued] = new(Scope.System, Writes: true),
        // The audit log: the system's whole, a domain admin's (or scoped key's) domains' rows (AccountAdmin filters).
        [AdminOperation.ReadAudit] = new(Scope.Domain, Writes: false),
        // A domain's mailing lists are its admins' (the domain's max-lists bounds how many; ListAdmin checks it).
        [AdminOperation.ListLists] = new(Scope.Domain, Writes: false),
        [AdminOperation.AddList] = new(Scope.Domain, Writes: true),
        [AdminOperation.DeleteList] = new(Scope.Domain, Writes: true),
        [AdminOperation.SetList] = new(Scope.Domain, Writes: true),
        [AdminOperation.ChangeListMembers] = new(Scope.Domain, Writes: true),
    };

    /// <summary>
    /// Flags only the system grants or takes: system-admin and no-limits are rights over the domain's
    /// limits and other domains; expert unlocks delivery lines that run programs.
    /// </summary>
    public const UserFlags SystemFlags = UserFlags.SystemAdmin | UserFlags.NoLimits | UserFlags.Expert;

    /// <summary>Addresses RFC 2142 requires to reach a person; a domain admin cannot delete or redirect them.</summary>
    public static readonly IReadOnlySet<string> ProtectedLocals = new HashSet<string>(StringComparer.Ordinal) { "postmaster", "abuse" };

    /// <summary>Throws <see cref="AccountError.Forbidden"/> (or NotPermitted for an account's own flag) unless the actor may.</summary>
    public static void Authorize(Actor actor, AdminRequest request)
    {
        if (Refusal(actor, request) is { } refusal)
            throw refusal;
    }

    /// <summary>The refusal, or null when allowed: the table, then the bounds on what may be set.</summary>
    public static AccountException? Refusal(Actor actor, AdminRequest r)
    {
        var rule = Table[r.Operation];
        if (rule.Writes && actor.ReadOnly)
            return Forbidden(actor, r, "a read-only key changes nothing");
        var self = actor.Address is { } own && r.User is { } user && own == user;
        var reached = actor.Kind == ActorKind.System
            || (rule.Scope != Scope.CommandLine && actor.HasSystemScope)
            || (rule.Scope >= Scope.Domain && r.Domain is { } d && actor.Administers(d))
            // A list of "my domains" (or of their audit rows): AccountAdmin filters it to the actor's own.
            || (r.Operation is AdminOperation.ListDomains or AdminOperation.ReadAudit && r.Domain is null && actor.Domains.Count > 0)
            || (rule.Scope == Scope.Self && self);
        if (!reached)
            return Forbidden(actor, r, r.Domain is { } dn && !actor.HasSystemScope && rule.Scope >= Scope.Domain ? $"not an admin of {dn}" : "not allowed");
        // A key cannot outlive itself through another key, or make an admin who could.
        if (actor.Kind == ActorKind.ApiKey && r.Operation is AdminOperation.AddApiKey or AdminOperation.RevokeApiKey or AdminOperation.GrantAdmin
            or AdminOperation.RevokeAdmin or AdminOperation.SetTotp or AdminOperation.DeleteTotp)
            return Forbidden(actor, r, "an API key makes no keys or admins and has no second factor");
        if (r.Operation is AdminOperation.SetTotp or AdminOperation.DeleteTotp && !self && !actor.HasSystemScope)
            return Forbidden(actor, r, "an account's second factor is its own (or the system's to reset)");
        if (actor.Kind == ActorKind.System)
            return null;

        // Delivery lines that write files or run programs stay the command line's (issue 13).
        if (r.DeliveryLine is { } line && !line.StartsWith('&'))
            return Forbidden(actor, r, "only forwards to addresses may be set here; file and program lines are the command line's");
        if (self && r.Operation == AdminOperation.SetPassword && !actor.HasSystemScope)
        {
            if (r.TargetFlags.HasFlag(UserFlags.NoPasswordChange))
                return new AccountException(AccountError.NotPermitted, $"{r.User} may not change its password");
            if (r.Password is not (PasswordInput.Clear or PasswordInput.Random))
                return Forbidden(actor, r, "a user sets its own password as text");
        }
        if (actor.HasSystemScope)
            return null;

        // Below: an admin of some domains, a key scoped to domains, or a user about itself.
        if (rule.Writes && r.TargetFlags.HasFlag(UserFlags.SystemAdmin) && !self)
            return Forbidden(actor, r, $"{r.User} is a system admin");
        if ((r.FlagsChanged & SystemFlags) != 0)
            return Forbidden(actor, r, $"only the system sets or clears {UserFlagNames.Format(r.FlagsChanged & SystemFlags)}");
        if (r.Quota is { } q && r.Limits is { } limits && Exceeds(q, limits.DomainQuota))
            return Forbidden(actor, r, $"quota {q} is above the domain's quota {limits.DomainQuota}");
        if ((r.Operation is AdminOperation.DeleteUser or AdminOperation.AddAliasLine or AdminOperation.DeleteAlias
            || (r.Operation == AdminOperation.SetForward && !self))
            && r.User is { } u && ProtectedLocals.Contains(u[..u.LastIndexOf('@')]))
            return Forbidden(actor, r, $"{u} must reach the system's admins (RFC 2142)");
        return null;
    }

    /// <summary>Is <paramref name="q"/> more than <paramref name="limit"/> allows on any dimension (0 = none)?</summary>
    public static bool Exceeds(Quota q, Quota limit) =>
        (limit.Bytes > 0 && (q.Bytes == 0 || q.Bytes > limit.Bytes)) ||
        (limit.Messages > 0 && (q.Messages == 0 || q.Messages > limit.Messages));

    private static AccountException Forbidden(Actor actor, AdminRequest r, string why) =>
        new(AccountError.Forbidden, $"forbidden: {actor} may not {Describe(r.Operation)}{Target(r)}: {why}");

    private static string Target(AdminRequest r) => r.User is { } u ? $" {u}" : r.Domain is { } d ? $" {d}" : "";

    private static string Describe(AdminOperation op) =>
        string.Concat(op.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? " " + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
