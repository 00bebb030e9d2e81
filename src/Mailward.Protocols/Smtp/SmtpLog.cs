// The SMTP service's log events, with stable ids (design rule 10): one line per session, per
// queued or refused message and per refused recipient: the raw material of the statistics.
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Smtp;

internal static partial class SmtpLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Debug, Message = "smtp {SessionId} connect client={Client} port={Port}")]
    public static partial void SessionStarted(ILogger logger, string sessionId, string client, int port);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information,
        Message = "smtp {SessionId} end client={Client} helo={Helo} tls={Tls} queued={Queued} rejected_rcpts={Rejected} result={Result}")]
    public static partial void SessionEnded(ILogger logger, string sessionId, string client, string helo, string tls, int queued, int rejected, string result);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information,
        Message = "smtp {SessionId} queued id={QueueId} from=<{Sender}> rcpts={Recipients} size={Size} proto={Protocol} auth={User}")]
    public static partial void MessageQueued(ILogger logger, string sessionId, string queueId, string sender, int recipients, long size, string protocol, string user);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "smtp {SessionId} rcpt rejected to=<{Recipient}> reason={Reason}")]
    public static partial void RecipientRejected(ILogger logger, string sessionId, string recipient, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "smtp {SessionId} message refused from=<{Sender}> reason={Reason}")]
    public static partial void MessageRefused(ILogger logger, string sessionId, string sender, string reason);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "smtp {SessionId} queue write failed: {Error}")]
    public static partial void QueueFailed(ILogger logger, string sessionId, string error);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "smtp {SessionId} TLS handshake failed: {Error}")]
    public static partial void TlsFailed(ILogger logger, string sessionId, string error);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "smtp {SessionId} auth client={Client} user={User} result={Result}")]
    public static partial void Auth(ILogger logger, string sessionId, string client, string user, string result);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "smtp {SessionId} closed client={Client}: {Errors} rejected recipients reached Smtp:HardErrorLimit")]
    public static partial void ErrorLimit(ILogger logger, string sessionId, string client, int errors);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "smtp {SessionId} roaming client={Client} user={User} from=<{Sender}>")]
    public static partial void Roaming(ILogger logger, string sessionId, string client, string user, string sender);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Warning, Message = "smtp {SessionId} {Command} answered 451: {Error}")]
    public static partial void StoreUnavailable(ILogger logger, string sessionId, string command, string error);

    [LoggerMessage(EventId = 1807, Level = LogLevel.Warning, Message = "smtp {SessionId} client={Client} answered 421 at connect: {Error}")]
    public static partial void StoreUnavailableAtConnect(ILogger logger, string sessionId, string client, string error);
}
