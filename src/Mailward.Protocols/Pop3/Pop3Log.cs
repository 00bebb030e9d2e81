// POP3 log events (ids 4000–4003; refusals are the edge's, 5000): sessions, every login attempt (never the password) and the
// deletions applied at QUIT, with the session id the greeting's timestamp carries.
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Pop3;

internal static partial class Pop3Log
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "pop3 {SessionId} start client={Client}")]
    public static partial void SessionStarted(ILogger logger, string sessionId, string client);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "pop3 {SessionId} login client={Client} user={User} result={Result} cached={Cached}")]
    public static partial void Login(ILogger logger, string sessionId, string client, string user, string result, bool cached);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "pop3 {SessionId} update user={User} deleted={Deleted} kept={Kept}")]
    public static partial void Update(ILogger logger, string sessionId, string user, int deleted, int kept);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "pop3 {SessionId} end user={User} reason={Reason}")]
    public static partial void SessionEnded(ILogger logger, string sessionId, string user, string reason);
}
