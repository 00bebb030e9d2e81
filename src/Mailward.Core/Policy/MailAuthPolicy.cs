// The door's sender checks in front of SmtpPolicy (issue 16): DNS block- and allowlists at connect
// (rblsmtpd), refused at connect or at each RCPT or only marked, per list; SPF (RFC 7208) at MAIL
// for the HELO and MAIL FROM identities, a MAIL FROM fail refused (550 5.7.23) only with
// Spf:Mode=reject; DKIM signatures (RFC 6376) verified at the end of DATA, before the commit, and
// recorded, never refused on their own; then DMARC (RFC 7489) from those results and the From:
// domains' policies, p=reject refused with 550 5.7.1 and p=quarantine marked for the Junk folder
// under Dmarc:Mode=enforce. Relay clients (a relay rule allows them), authenticated and
// roaming users and submission sessions are exempt, as Postfix's permit_mynetworks and
// permit_sasl_authenticated come before reject_rbl_client. What was found is kept in the session's
// DoorFindings, from which the session writes Received-SPF and Authentication-Results.
using Mailward.Core.Accounts;
using Mailward.Core.Dkim;
using Mailward.Core.Dmarc;
using Mailward.Core.Dnsbl;
using Mailward.Core.Spf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Policy;

public sealed partial class MailAuthPolicy(SmtpPolicy inner, DnsblChecker? dnsbl, SpfChecker? spf = null, ILogger? logger = null,
    DkimMessageVerifier? dkim = null, DmarcChecker? dmarc = null, DmarcMode dmarcMode = DmarcMode.Off) : ISmtpPolicy
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

    public async ValueTask<PolicyDecision> HeloAsync(ClientInfo client, string helo, CancellationToken ct = default)
    {
        var decision = await inner.HeloAsync(client, helo, ct);
        if (!decision.Refuses && client.Findings is { } findings && findings.Helo != helo)
        {
            findings.Helo = helo;
            findings.SpfHelo = null; // checked at the first MAIL that needs it
        }
        return decision;
    }

    public async ValueTask<PolicyDecision> MailAsync(ClientInfo client, string mailbox, string address, long declaredSize, CancellationToken ct = default)
    {
        var decision = await inner.MailAsync(client, mailbox, address, declaredSize, ct);
        if (client.Findings is { } f)
        {
            f.SpfMailFrom = null;
            f.SpfSender = address;
            f.Dkim = null;
            f.Dmarc = null;
            f.Quarantine = null;
        }
        if (decision.Refuses || spf is null || spf.Options.Mode == SpfMode.Off || Exempt(client))
            return decision;
        var outcome = await SpfAsync(client, address, ct);
        SpfChecked(_log, client.Address, address.Length == 0 ? "helo" : "mailfrom", outcome.Domain, outcome.Name, outcome.Problem ?? outcome.Mechanism ?? "");
        // RFC 7208 §8.4: fail may be refused with 550 5.7.23; softfail, neutral and the errors never are here.
        if (outcome.Result == SpfResult.Fail && spf.Options.Mode == SpfMode.Reject)
            return PolicyDecision.Reject(SpfReplies.Fail(address, client.Address, outcome), "spf fail");
        return decision;
    }

    /// <summary>The MAIL FROM identity's result (the HELO identity's for the null sender, §2.4), kept in the findings.</summary>
    private async ValueTask<SpfOutcome> SpfAsync(ClientInfo client, string sender, CancellationToken ct)
    {
        var f = client.Findings;
        var helo = f?.Helo ?? "";
        SpfOutcome? heloOutcome = f?.SpfHelo;
        if (heloOutcome is null && helo.Length > 0)
        {
            heloOutcome = await spf!.CheckHeloAsync(client.Address, helo, ct); // §2.3: checked too, and kept for the later checks
            if (f is not null)
                f.SpfHelo = heloOutcome;
        }
        var outcome = sender.Length == 0 ? heloOutcome ?? new SpfOutcome(SpfResult.None, helo)
            : await spf!.CheckMailFromAsync(client.Address, sender, helo, ct);
        if (f is not null)
            f.SpfMailFrom = outcome;
        return outcome;
    }

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

    public async ValueTask<PolicyDecision> EndOfDataAsync(ClientInfo client, IReadOnlyList<string> recipients, IReadOnlySet<string> hosted, long size,
        CancellationToken ct = default)
    {
        var decision = await inner.EndOfDataAsync(client, recipients, hosted, size, ct);
        if (decision.Refuses || dkim is null || client.Findings is not { OpenMessage: { } open } findings || Exempt(client))
            return decision;
        // RFC 6376 §6: the spooled message, before the commit; nothing is refused on DKIM alone (DMARC decides).
        try
        {
            await using var message = await open(ct);
            findings.Dkim = await dkim.VerifyAsync(message, ct);
        }
        catch (IOException e)
        {
            findings.Dkim = [new DkimResult(DkimStatus.TempError, "", "", "", null, "", "message could not be read back: " + e.Message)];
        }
        foreach (var r in findings.Dkim)
            DkimChecked(_log, client.Address, r.Domain, r.Selector, r.Algorithm, r.Name, r.Reason ?? "");
        // DMARC needs both results: without SPF's it would fail mail that passes (hosting leaves dmarc null then).
        if (dmarc is null || dmarcMode == DmarcMode.Off || findings.SpfMailFrom is null)
            return decision;
        return await DmarcAsync(client, findings, open, ct) ?? decision;
    }

    /// <summary>RFC 7489 §6.6: each From: domain evaluated; the strictest disposition applies; null when the message goes on.</summary>
    private async ValueTask<PolicyDecision?> DmarcAsync(ClientInfo client, DoorFindings findings, Func<CancellationToken, ValueTask<Stream>> open, CancellationToken ct)
    {
        IReadOnlyList<string> authors;
        try
        {
            await using var message = await open(ct);
            authors = await AuthorDomains.ReadAsync(message, dkim!.Options.MaxHeaderBytes, ct);
        }
        catch (IOException)
        {
            return null;
        }
        if (authors.Count == 0)
            return null; // no From: domain to evaluate (RFC 5322 requires one; the message is left to filters)
        // §3.1.2: SPF's authenticated identity is the MAIL FROM domain, or the HELO name for the null sender.
        var spfPass = findings.SpfMailFrom is { Result: SpfResult.Pass } spf ? spf.Domain : null;
        var dkimPass = findings.Dkim!.Where(r => r.Status == DkimStatus.Pass).Select(r => r.Domain).ToList();
        var outcomes = new List<DmarcOutcome>(authors.Count);
        foreach (var domain in authors)
            outcomes.Add(await dmarc!.CheckAsync(domain, spfPass, dkimPass, ct));
        findings.Dmarc = outcomes;
        // A fail that a temporary SPF or DKIM error may have caused is only marked (§6.6.2 lets receivers choose).
        var unsure = findings.SpfMailFrom!.Result == SpfResult.TempError || findings.Dkim!.Any(r => r.Status == DkimStatus.TempError);
        var act = dmarcMode == DmarcMode.Enforce && !unsure;
        var reject = outcomes.FirstOrDefault(o => o.Result == DmarcResult.Fail && o.Disposition == DmarcPolicy.Reject);
        var quarantine = outcomes.FirstOrDefault(o => o.Result == DmarcResult.Fail && o.Disposition == DmarcPolicy.Quarantine);
        var action = !act ? "none" : reject is not null ? "reject" : quarantine is not null ? "quarantine" : "none";
        foreach (var o in outcomes)
            DmarcChecked(_log, client.Address, o.FromDomain, o.Name, o.PolicyName, o.DispositionName, action, o.Problem ?? "");
        if (!act)
            return null;
        if (reject is not null)
            return PolicyDecision.Reject(DmarcReplies.Reject(reject.FromDomain), "dmarc reject");
        if (quarantine is not null)
            findings.Quarantine = $"DMARC policy of {quarantine.FromDomain} (p=quarantine)";
        return null;
    }

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

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information, Message = "spf client={Client} identity={Identity} domain={Domain} result={Result} {Detail}")]
    private static partial void SpfChecked(ILogger logger, System.Net.IPAddress client, string identity, string domain, string result, string detail);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Information, Message = "dkim client={Client} domain={Domain} selector={Selector} algorithm={Algorithm} result={Result} {Detail}")]
    private static partial void DkimChecked(ILogger logger, System.Net.IPAddress client, string domain, string selector, string algorithm, string result, string detail);

    [LoggerMessage(EventId = 2406, Level = LogLevel.Information,
        Message = "dmarc client={Client} from={Domain} result={Result} policy={Policy} disposition={Disposition} action={Action} {Detail}")]
    private static partial void DmarcChecked(ILogger logger, System.Net.IPAddress client, string domain, string result, string policy, string disposition,
        string action, string detail);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Warning, Message = "dnsbl client={Client} not known: {Error} (taken as not listed)")]
    private static partial void DnsblError(ILogger logger, System.Net.IPAddress client, string error);
}
