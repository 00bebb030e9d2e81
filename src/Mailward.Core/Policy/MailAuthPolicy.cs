// The door's sender checks in front of SmtpPolicy (issue 16): DNS block- and allowlists at connect
// (rblsmtpd), refused at connect or at each RCPT or only marked, per list. Relay clients (a relay
// rule allows them), authenticated and roaming users and submission sessions are exempt, as
// Postfix's permit_mynetworks and permit_sasl_authenticated come before reject_rbl_client. What
// was found is kept in the session's DoorFindings for the trace headers and later checks.
using Mailward.Core.Accounts;
using Mailward.Core.Dnsbl;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Policy;

public sealed partial class MailAuthPolicy(SmtpPolicy inner, DnsblChecker? dnsbl, ILogger? logger = null) : ISmtpPolicy
{
    private readonly ILogger _log = logger ?? NullLogger.Instance;

    public SmtpPolicy Inner => inner;

    public async ValueTask<PolicyDecision> ConnectAsync(ClientInfo client, CancellationToken ct = default)
    {
        var decision = await inner.ConnectAsync(client, ct);
        if (decision.Refuses || dnsbl is null || Exempt(client))
            return decision;
        var result = await DnsblAsync(client, ct);
        if (result.First(DnsblAction.Connect) is { } listed)
            return PolicyDecision.Reject(DnsblReplies.AtConnect(client.Address, listed), "dnsbl " + listed.Zone);
        return decision;
    }

    public ValueTask<PolicyDecision> HeloAsync(ClientInfo client, string helo, CancellationToken ct = default) => inner.HeloAsync(client, helo, ct);

    public ValueTask<PolicyDecision> MailAsync(ClientInfo client, string mailbox, string address, long declaredSize, CancellationToken ct = default) =>
        inner.MailAsync(client, mailbox, address, declaredSize, ct);

    public ValueTask<IReadOnlyList<UserRecord>> RoamingUsersAsync(ClientInfo client, CancellationToken ct = default) => inner.RoamingUsersAsync(client, ct);

    public async ValueTask<RecipientDecision> RcptAsync(ClientInfo client, string localPart, string domain, bool domainIsLiteral, string address, long size = 0,
        CancellationToken ct = default)
    {
        // Before the recipient is looked up, so a listed client learns nothing about who exists here.
        if (dnsbl is not null && !Exempt(client) && (await DnsblAsync(client, ct)).First(DnsblAction.Rcpt) is { } listed)
            return new RecipientDecision(RecipientVerdict.ClientListed, address,
                PolicyDecision.Reject(DnsblReplies.AtRcpt(client.Address, address, listed), "dnsbl " + listed.Zone));
        return await inner.RcptAsync(client, localPart, domain, domainIsLiteral, address, size, ct);
    }

    public ValueTask<PolicyDecision> EndOfDataAsync(ClientInfo client, IReadOnlyList<string> recipients, IReadOnlySet<string> hosted, long size,
        CancellationToken ct = default) => inner.EndOfDataAsync(client, recipients, hosted, size, ct);

    public bool HasStorageFor(long size) => inner.HasStorageFor(size);

    /// <summary>Submission sessions, authenticated and roaming users, and clients a relay rule allows.</summary>
    private bool Exempt(ClientInfo client) => client.Findings?.Submission == true || inner.MayRelay(client);

    /// <summary>The lists' answers for this session: asked once (at connect) and kept in its findings.</summary>
    private async ValueTask<DnsblResult> DnsblAsync(ClientInfo client, CancellationToken ct)
    {
        if (client.Findings?.Dnsbl is { } known)
            return known;
        var result = await dnsbl!.CheckAsync(client.Address, ct);
        foreach (var error in result.Errors)
            DnsblError(_log, client.Address, error);
        foreach (var l in result.Listings)
            DnsblListed(_log, client.Address, l.Zone, l.Answer, l.Action);
        if (client.Findings is not null)
            client.Findings.Dnsbl = result;
        return result;
    }

    [LoggerMessage(EventId = 2400, Level = LogLevel.Information, Message = "dnsbl client={Client} listed in {Zone} answer={Answer} action={Action}")]
    private static partial void DnsblListed(ILogger logger, System.Net.IPAddress client, string zone, System.Net.IPAddress answer, DnsblAction action);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Warning, Message = "dnsbl client={Client} not known: {Error} (taken as not listed)")]
    private static partial void DnsblError(ILogger logger, System.Net.IPAddress client, string error);
}
