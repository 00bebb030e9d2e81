// The web admin's own log lines (events 5200-5249, and 1808 for the account store's outages;
// docs/log-format.md): refused API keys, the second factor of logins, requests answered
// 503. The changes themselves are the admin audit's (5100, 5101).
using System.Net;
using Microsoft.Extensions.Logging;

namespace Mailward.Web.Hosting;

public sealed partial class WebLog
{
    [LoggerMessage(EventId = 5200, Level = LogLevel.Warning, Message = "web: API key refused from {Client} for {Path} (unknown, wrong, revoked or expired)")]
    public static partial void ApiKeyRefused(ILogger logger, IPAddress client, string path);

    [LoggerMessage(EventId = 5201, Level = LogLevel.Warning, Message = "web: second factor of {Address} from {Client}: {Outcome}")]
    public static partial void SecondFactorRefused(ILogger logger, string address, IPAddress client, string outcome);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Information, Message = "web: {Address} logged in from {Client} with a second factor")]
    public static partial void SecondFactorAccepted(ILogger logger, string address, IPAddress client);

    // In the PostgreSQL/cluster range (1800-1849) beside the mail protocols' outage lines (1802, 1807).
    [LoggerMessage(EventId = 1808, Level = LogLevel.Warning, Message = "web: {Method} {Path} from {Client} answered 503: {Reason}")]
    public static partial void StoreUnavailable(ILogger logger, string method, string path, IPAddress client, string reason);
}
