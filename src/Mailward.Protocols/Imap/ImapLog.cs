// IMAP's typed log events (stable ids 6xxx): one line per session start, login and end.
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Imap;

internal static partial class ImapLog
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "imap {SessionId} connect client={Client}")]
    public static partial void SessionStarted(ILogger logger, string sessionId, string client);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "imap {SessionId} login client={Client} user={User} result={Result} cached={Cached}")]
    public static partial void Login(ILogger logger, string sessionId, string client, string user, string result, bool cached);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "imap {SessionId} end user={User} reason={Reason}")]
    public static partial void SessionEnded(ILogger logger, string sessionId, string user, string reason);
}
