// The audit hook: AccountAdmin calls it once for every change it is asked for, with who asked,
// what, on what, and how it ended (done, refused, failed). The default writes one log line; the
// web admin's audit log (issue 13) will be another implementation.
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

public sealed record AdminAuditEntry(DateTimeOffset At, Actor Actor, AdminOperation Operation, string Target, AdminOutcome Outcome, string? Detail = null);

public interface IAdminAudit
{
    Task RecordAsync(AdminAuditEntry entry, CancellationToken ct = default);
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

    [LoggerMessage(EventId = 5100, Level = LogLevel.Information, Message = "admin: {Actor} {Operation} {Target}: {Outcome} {Detail}")]
    private static partial void Changed(ILogger logger, Actor actor, AdminOperation operation, string target, AdminOutcome outcome, string detail);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "admin: {Actor} {Operation} {Target}: refused {Detail}")]
    private static partial void Refused(ILogger logger, Actor actor, AdminOperation operation, string target, string detail);
}
