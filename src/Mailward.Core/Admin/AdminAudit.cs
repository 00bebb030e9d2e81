// The audit hook: AccountAdmin calls it once for every change it is asked for, with who asked,
// what, on what, and how it ended (done, refused, failed), after writing the same to the account
// store's audit log (AccountAdmin.Audit.cs). The default writes one log line.
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Admin;

public enum AdminOutcome
{
    Done,
    /// <summary>The authorizer said no (Forbidden or NotPermitted).</summary>
    Refused,
    /// <summary>Allowed, but ended in an error (exists, not found, limit, storage...).</summary>
    Failed,
}

public sealed record AdminAuditEntry(DateTimeOffset At, Actor Actor, AdminOperation Operation, string Target, AdminOutcome Outcome, string? Detail = null)
{
    /// <summary>The hosted domain the change touched; null for the system's own settings.</summary>
    public string? Domain { get; init; }

    /// <summary>The target's state before and after, without secrets (null: it did not exist).</summary>
    public string? Before { get; init; }

    public string? After { get; init; }
}

public interface IAdminAudit
{
    Task RecordAsync(AdminAuditEntry entry, CancellationToken ct = default);

    /// <summary>The account store could not take the entry's row (the change stands).</summary>
    Task StoreFailedAsync(AdminAuditEntry entry, Exception error) => Task.CompletedTask;
}

/// <summary>One line per change in the server's log (refusals as warnings).</summary>
public sealed partial class LoggingAdminAudit(ILogger logger) : IAdminAudit
{
    public static readonly LoggingAdminAudit None = new(NullLogger.Instance);

    public Task RecordAsync(AdminAuditEntry entry, CancellationToken ct = default)
    {
        if (entry.Outcome == AdminOutcome.Refused)
            Refused(logger, entry.Actor, entry.Operation, entry.Target, entry.Detail ?? "");
        else
            Changed(logger, entry.Actor, entry.Operation, entry.Target, entry.Outcome, entry.Detail ?? "");
        return Task.CompletedTask;
    }

    public Task StoreFailedAsync(AdminAuditEntry entry, Exception error)
    {
        RowLost(logger, entry.Actor, entry.Operation, entry.Target, error.Message);
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 5100, Level = LogLevel.Information, Message = "admin: {Actor} {Operation} {Target}: {Outcome} {Detail}")]
    private static partial void Changed(ILogger logger, Actor actor, AdminOperation operation, string target, AdminOutcome outcome, string detail);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "admin: {Actor} {Operation} {Target}: refused {Detail}")]
    private static partial void Refused(ILogger logger, Actor actor, AdminOperation operation, string target, string detail);

    [LoggerMessage(EventId = 5203, Level = LogLevel.Error, Message = "admin: the audit log's row for {Actor} {Operation} {Target} was not written: {Error}")]
    private static partial void RowLost(ILogger logger, Actor actor, AdminOperation operation, string target, string error);
}
