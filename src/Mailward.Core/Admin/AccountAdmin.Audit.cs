// The audit of every change (docs/web-admin.md "The audit log"): ChangeAsync runs one change and
// records who asked (the actor and where it came from), when, what, how it ended, and the target's
// state before and after it, as text without secrets (no hashes, no clear passwords, no TOTP or key
// secrets), in the account store's audit log and through the audit hook (the server's log).
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin
{
    /// <summary>The most of a state's text kept in a row (a long vacation text is cut, with a mark).</summary>
    public const int AuditValueMaxChars = 1000;

    /// <summary>Runs one change and records how it ended: done, refused by the authorizer, or failed.</summary>
    private Task<T> ChangeAsync<T>(Actor actor, AdminOperation operation, string target, Func<T> change) =>
        ChangeAsync(actor, operation, target, () => Task.FromResult(change()), () => AuditState(operation, target));

    /// <summary>The same for a change that awaits, with the target's state read by <paramref name="state"/>.</summary>
    private async Task<T> ChangeAsync<T>(Actor actor, AdminOperation operation, string target, Func<Task<T>> change, Func<State> state)
    {
        var before = state();
        T result;
        try
        {
            result = await change();
        }
        catch (AccountException e)
        {
            var outcome = e.Error is AccountError.Forbidden or AccountError.NotPermitted ? AdminOutcome.Refused : AdminOutcome.Failed;
            await RecordAsync(new AdminAuditEntry(_time.GetUtcNow(), actor, operation, target, outcome, e.Message)
            { Domain = before.Domain, Before = before.Text, After = before.Text });
            throw;
        }
        var after = state();
        await RecordAsync(new AdminAuditEntry(_time.GetUtcNow(), actor, operation, target, AdminOutcome.Done)
        { Domain = after.Domain ?? before.Domain, Before = before.Text, After = after.Text });
        return result;
    }

    private async Task RecordAsync(AdminAuditEntry entry)
    {
        try
        {
            store.AppendAudit(new AuditRecord(0, entry.At, entry.Actor.Name, entry.Actor.Kind.ToString().ToLowerInvariant(), OriginOf(entry.Actor),
                entry.Operation.ToString(), entry.Target, entry.Domain, entry.Outcome.ToString().ToLowerInvariant(), Cut(entry.Detail),
                Cut(entry.Before), Cut(entry.After)));
        }
        catch (Exception e) when (e is AccountException or System.Data.Common.DbException or IOException)
        {
            // The change is made (or refused) already: saying it failed would be untrue. The server's log says the row is missing.
            await _audit.StoreFailedAsync(entry, e);
        }
        await _audit.RecordAsync(entry);
    }

    /// <summary>One page of the audit log, newest first: every row for the system, a domain admin's domains' rows, none for a user.</summary>
    /// <param name="domain">Only this domain's rows (its real name; an alias domain's name means its domain).</param>
    public Task<Page<AuditRecord>> ListAuditAsync(Actor actor, long? before, int limit, string? domain = null)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ReadAudit));
        string? only = null;
        if (domain is not null)
            only = AuthorizedDomain(actor, AdminOperation.ReadAudit, domain, allowAlias: true).Name;
        return Task.FromResult(store.ListAudit(new AuditQuery(before, limit, actor.HasSystemScope ? null : actor.Domains, only)));
    }

    /// <summary>Where the actor's request came from; the command line names the OS user that ran it.</summary>
    private static string OriginOf(Actor actor) => actor.Origin ?? (actor.Kind == ActorKind.System ? $"command line ({Environment.UserName})" : "unknown");

    private static string? Cut(string? text) => text is null || text.Length <= AuditValueMaxChars ? text : text[..AuditValueMaxChars] + "…";

    private readonly record struct State(string? Domain, string? Text);

    /// <summary>The target's state as the audit records it; a target that names nothing (yet) is (domain if known, null).</summary>
    private State AuditState(AdminOperation operation, string target)
    {
        try
        {
            return operation switch
            {
                AdminOperation.AddDomain or AdminOperation.DeleteDomain or AdminOperation.SetCatchAll or AdminOperation.SetDomainLimits => DomainState(target),
                AdminOperation.SetQuota when !target.Contains('@', StringComparison.Ordinal) => DomainState(target),
                AdminOperation.AddDomainAlias or AdminOperation.DeleteDomainAlias => AliasDomainState(target),
                AdminOperation.AddAliasLine or AdminOperation.DeleteAlias or AdminOperation.SetForward => AliasState(target),
                AdminOperation.SetAutoresponder or AdminOperation.DeleteAutoresponder => AutoresponderState(target),
                AdminOperation.SetRelayRule or AdminOperation.DeleteRelayRule => RelayState(target),
                AdminOperation.AddIpMap or AdminOperation.DeleteIpMap => IpMapState(target),
                AdminOperation.AddApiKey or AdminOperation.RevokeApiKey => KeyState(target),
                AdminOperation.GrantAdmin or AdminOperation.RevokeAdmin => GrantState(target),
                AdminOperation.AddList or AdminOperation.DeleteList or AdminOperation.SetList or AdminOperation.ChangeListMembers => ListState(target),
                _ => UserState(target),
            };
        }
        catch (Exception e) when (e is AccountException or FormatException or ArgumentException)
        {
            return default; // a target that does not parse: the change will say why
        }
    }

    private State DomainState(string name)
    {
        var d = store.FindDomain(DomainName.Normalize(name));
        if (d is null || d.Name != DomainName.Normalize(name))
            return new(d?.Name, null);
        var l = d.Limits;
        var aliases = store.ListDomainAliases(d.Id);
        return new(d.Name, string.Create(CultureInfo.InvariantCulture,
            $"catch-all={d.CatchAll}; max-users={Max(l.MaxUsers)}; max-aliases={Max(l.MaxAliases)}; max-forwards={Max(l.MaxForwards)}; max-autoresponders={Max(l.MaxAutoresponders)}; max-lists={Max(l.MaxLists)}; quota={l.DomainQuota}; default-quota={l.DefaultUserQuota}; alias-domains={(aliases.Count == 0 ? "none" : string.Join(",", aliases))}"));
    }

    private static string Max(int? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) : "unlimited";

    private State AliasDomainState(string alias)
    {
        var n = DomainName.Normalize(alias);
        var d = store.FindDomain(n);
        return d is null || d.Name == n ? new(d?.Name, null) : new(d.Name, $"alias of {d.Name}");
    }

    private (string Local, DomainRecord? Domain) Split(string address)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0)
            throw new FormatException("not an address");
        return (address[..at].ToLowerInvariant(), store.FindDomain(DomainName.Normalize(address[(at + 1)..])));
    }

    private State UserState(string address)
    {
        var (local, d) = Split(address);
        if (d is null || store.FindUser(local, d.Name) is not { } u)
            return new(d?.Name, null);
        var totp = store.FindTotp(u.Id) is { } t ? (t.Confirmed ? "on" : "enrolling") : "off";
        return new(d.Name, $"name={u.Gecos}; quota={u.Quota}; flags={UserFlagNames.Format(u.Flags)}; password={(u.PasswordHash == Passwords.PasswordHasher.NoPassword ? "none" : "set")}; totp={totp}");
    }

    private State AliasState(string address)
    {
        var (local, d) = Split(address);
        return d is null || store.FindAlias(local, d.Name) is not { } a ? new(d?.Name, null) : new(d.Name, string.Join("\n", a.Lines));
    }

    private State AutoresponderState(string address)
    {
        var (local, d) = Split(address);
        if (d is null || store.FindAutoresponder(d.Id, local) is not { } a)
            return new(d?.Name, null);
        return new(d.Name, string.Create(CultureInfo.InvariantCulture,
            $"subject={a.Subject}; from={a.StartsAt?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "now"}; until={a.EndsAt?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "off"}; every={a.IntervalDays}d; text={a.Body}"));
    }

    private State RelayState(string network)
    {
        var n = NormalizeNetwork(network);
        return store.ListRelayRules().FirstOrDefault(r => r.Network == n) is { } r ? new(null, $"{r.Network} {r.Action.ToString().ToLowerInvariant()} {r.Comment}".TrimEnd()) : default;
    }

    private State IpMapState(string address)
    {
        var maps = store.ListIpMap().Where(m => m.Address == address.Trim()).ToList();
        return maps.Count == 0 ? default : new(maps[0].Domain, string.Join(", ", maps.Select(m => $"{m.Address} -> {m.Domain}")));
    }

    private State KeyState(string name)
    {
        if (store.ListApiKeys().FirstOrDefault(k => k.Name == name) is not { } k)
            return default;
        return new(k.Domains is { Count: 1 } one ? one[0] : null, string.Create(CultureInfo.InvariantCulture,
            $"scope={(k.Domains is null ? "system" : string.Join(",", k.Domains))}; read-only={(k.ReadOnly ? "yes" : "no")}; expires={k.ExpiresAt:yyyy-MM-dd}; revoked={(k.RevokedAt is { } r ? r.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "no")}"));
    }

    private State GrantState(string target)
    {
        var parts = target.Split(' ', 2);
        if (parts.Length != 2)
            return default;
        var domain = store.FindDomain(DomainName.Normalize(parts[1]))?.Name ?? DomainName.Normalize(parts[1]);
        var (local, d) = Split(parts[0]);
        if (d is null || store.FindUser(local, d.Name) is not { } u)
            return new(domain, null);
        return new(domain, store.ListAdminGrants(u.Id).Contains(domain, StringComparer.Ordinal) ? $"{u.Address} administers {domain}" : null);
    }
}
