// The admin audit log in the account store (schema migration 9, docs/web-admin.md "The audit
// log"): one row per change AccountAdmin was asked for, by any face (command, web, API), with who,
// from where, when, what, how it ended and the target's state before and after. Rows are only
// appended; the domain column (a name, so the rows outlive a deleted domain) scopes what a domain
// admin may read. Pages are keyset pages, newest first: the cursor is the last row's id.
namespace Mailward.Core.Accounts;

/// <param name="Id">Increasing with time of writing; 0 for a row not written yet.</param>
/// <param name="Actor">Who: "system", a login address, or an API key's name.</param>
/// <param name="ActorKind">system, systemadmin, domainadmin, user or apikey.</param>
/// <param name="Origin">From where: "command line (OS user)", "web 192.0.2.1", "api 192.0.2.1".</param>
/// <param name="Domain">The hosted domain the change touched (its real name); null for the system's own (relay rules, keys).</param>
/// <param name="Outcome">done, refused or failed.</param>
/// <param name="Before">The target's state before, as text without secrets; null when it did not exist.</param>
/// <param name="After">The same after the change; null when it does not exist (or the change did not happen).</param>
public sealed record AuditRecord(long Id, DateTimeOffset At, string Actor, string ActorKind, string Origin, string Operation, string Target,
    string? Domain, string Outcome, string? Detail, string? Before, string? After);

/// <param name="Before">The cursor: rows older than this id (null: from the newest).</param>
/// <param name="Domains">Only rows of these domains (a domain admin's); null: every row (the system's).</param>
/// <param name="Domain">Only rows of this one domain; null: no such filter.</param>
public sealed record AuditQuery(long? Before, int Limit, IReadOnlyList<string>? Domains = null, string? Domain = null);

public interface IAuditStore
{
    /// <summary>Appends a row durably (it survives a crash once this returns); returns its id.</summary>
    long AppendAudit(AuditRecord e);

    /// <summary>One page, newest first; Next is the id to pass as the next query's Before (null on the last page).</summary>
    Page<AuditRecord> ListAudit(AuditQuery query);
}
