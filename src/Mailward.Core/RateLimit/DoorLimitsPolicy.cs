// Per-client limits in front of the door's other checks (Postfix's anvil, postscreen's pregreet
// wait): connections per minute at connect (421 4.7.0, and the session ends), messages per minute
// at MAIL and recipients per minute at RCPT (450 4.7.1), each counted whether or not the command
// would have been accepted, as anvil counts. Concurrent connections per client are the listener's
// (Smtp:MaxConnectionsPerClient, ConnectionLimiter). At connect a stranger is told to wait for the
// greeting (a tarpit of Smtp:GreetDelayMilliseconds): the session refuses a client that talks in
// that time. Relay clients, authenticated and roaming users and submission sessions are exempt, as
// Postfix's smtpd_client_event_limit_exceptions = $mynetworks and as the DNS lists exempt them.
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Metrics;
using Mailward.Core.Policy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.RateLimit;

public sealed partial class DoorLimitsPolicy(ISmtpPolicy inner, SmtpPolicy relay, ClientRates rates, ILogger? logger = null) : ISmtpPolicy
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    public ISmtpPolicy Inner => inner;

    public async ValueTask<PolicyDecision> ConnectAsync(ClientInfo client, CancellationToken ct = default)
    {
        if (await ExemptAsync(client, ct))
            return await inner.ConnectAsync(client, ct);
        if (!rates.Count(client.Address, RateEvent.Connection))
            return Refused(client, RateEvent.Connection, rates.Options.ConnectionsPerMinute,
                PolicyDecision.TempFail($"421 4.7.0 Error: too many connections from {Plain(client.Address)}; try again later", "connection rate"));
        var decision = await inner.ConnectAsync(client, ct);
        // postscreen's greet wait: the session holds the greeting and watches for input meanwhile.
        if (decision.Action == PolicyAction.Accept && rates.Options.GreetDelay > TimeSpan.Zero)
            return PolicyDecision.Tarpit(rates.Options.GreetDelay);
        return decision;
    }

    public ValueTask<PolicyDecision> HeloAsync(ClientInfo client, string helo, CancellationToken ct = default) => inner.HeloAsync(client, helo, ct);

    public async ValueTask<PolicyDecision> MailAsync(ClientInfo client, string mailbox, string address, long declaredSize, CancellationToken ct = default)
    {
        if (!await ExemptAsync(client, ct) && !rates.Count(client.Address, RateEvent.Message))
            return Refused(client, RateEvent.Message, rates.Options.MessagesPerMinute,
                PolicyDecision.TempFail($"450 4.7.1 Error: too much mail from {Plain(client.Address)}; try again later", "message rate"));
        return await inner.MailAsync(client, mailbox, address, declaredSize, ct);
    }

    public ValueTask<IReadOnlyList<UserRecord>> RoamingUsersAsync(ClientInfo client, CancellationToken ct = default) => inner.RoamingUsersAsync(client, ct);

    public async ValueTask<RecipientDecision> RcptAsync(ClientInfo client, string localPart, string domain, bool domainIsLiteral, string address, long size = 0,
        CancellationToken ct = default)
    {
        // Before the recipient is looked up: a client over its rate learns nothing about who exists here.
        if (!await ExemptAsync(client, ct) && !rates.Count(client.Address, RateEvent.Recipient))
            return new RecipientDecision(RecipientVerdict.Deferred, address, Refused(client, RateEvent.Recipient, rates.Options.RecipientsPerMinute,
                PolicyDecision.TempFail($"450 4.7.1 Error: too many recipients from {Plain(client.Address)}; try again later", "recipient rate")));
        return await inner.RcptAsync(client, localPart, domain, domainIsLiteral, address, size, ct);
    }

    public ValueTask<PolicyDecision> EndOfDataAsync(ClientInfo client, IReadOnlyList<string> recipients, IReadOnlySet<string> hosted, long size,
        CancellationToken ct = default) => inner.EndOfDataAsync(client, recipients, hosted, size, ct);

    public bool HasStorageFor(long size) => inner.HasStorageFor(size);

    private ValueTask<bool> ExemptAsync(ClientInfo client, CancellationToken ct) => IsExemptAsync(relay, client, ct);

    /// <summary>Submission sessions, authenticated users, clients a relay rule allows, and addresses with a roaming grant.</summary>
    public static async ValueTask<bool> IsExemptAsync(SmtpPolicy relay, ClientInfo client, CancellationToken ct)
    {
        if (client.Findings?.Submission == true)
            return true;
        try
        {
            return relay.MayRelay(client) || (await relay.RoamingUsersAsync(client, ct)).Count > 0;
        }
        catch (AccountStoreUnavailableException)
        {
            return false; // the rates apply while the store is away: their answers are temporary too
        }
    }

    private PolicyDecision Refused(ClientInfo client, RateEvent kind, int limit, PolicyDecision decision)
    {
        RateLimited(_log, client.Address, rates.GroupOf(client.Address), kind, limit);
        if (kind != RateEvent.Recipient)
            MailwardMetrics.MessageRefused(kind == RateEvent.Connection ? "connect" : "mail", decision.Reason!); // the session counts a recipient's
        return decision;
    }

    private static IPAddress Plain(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    [LoggerMessage(EventId = 2410, Level = LogLevel.Warning, Message = "ratelimit client={Client} group={Group} event={Event} limit={Limit}/min refused")]
    private static partial void RateLimited(ILogger logger, IPAddress client, IPAddress group, RateEvent @event, int limit);
}
