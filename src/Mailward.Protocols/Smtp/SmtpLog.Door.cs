// The SMTP session's log events of the door limits (docs/log-format.md): the early talker.
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Smtp;

internal static partial class SmtpLog
{
    [LoggerMessage(EventId = 2411, Level = LogLevel.Information, Message = "smtp {SessionId} early talker client={Client}: sent before the greeting (within {WaitMs} ms)")]
    public static partial void EarlyTalker(ILogger logger, string sessionId, string client, int waitMs);
}
