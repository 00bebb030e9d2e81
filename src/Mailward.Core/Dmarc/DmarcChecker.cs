// DMARC evaluation (RFC 7489 §6.6): the policy of the RFC5322.From domain (or of its organizational
// domain), identifier alignment of the SPF-authenticated MAIL FROM domain and of each DKIM
// signature's d= that passed (§3.1), and the disposition the policy asks for after pct= sampling
// (§6.6.4). What the door does with the disposition (refuse, Junk) is the caller's.
using Mailward.Core.PolicyDns;

namespace Mailward.Core.Dmarc;

public enum DmarcResult
{
    None,
    Pass,
    Fail,
    TempError,
    PermError,
}

/// <param name="Result">pass when an aligned identifier passed; fail when none did; none without a policy.</param>
/// <param name="FromDomain">The RFC5322.From domain evaluated (header.from in Authentication-Results).</param>
/// <param name="Policy">The policy that applies to the From domain (p= or, for a subdomain, sp=); null without a record.</param>
/// <param name="Disposition">What the receiver should do: the policy for a failing message picked by pct=, else none.</param>
/// <param name="SpfAligned">The SPF pass was for an aligned domain.</param>
/// <param name="DkimAligned">The d= of a passing DKIM signature aligned (the first one, for the log).</param>
public sealed record DmarcOutcome(DmarcResult Result, string FromDomain, DmarcPolicy? Policy, DmarcPolicy Disposition, bool SpfAligned = false,
    string? DkimAligned = null, string? Problem = null)
{
    public string Name => Result.ToString().ToLowerInvariant();

    /// <summary>The policy as the record spells it (none, quarantine, reject); "-" without a record.</summary>
    public string PolicyName => Policy?.ToString().ToLowerInvariant() ?? "-";

    public string DispositionName => Disposition.ToString().ToLowerInvariant();
}

public sealed class DmarcChecker(IPolicyDns dns, PublicSuffixList suffixes, Func<int>? percentile = null)
{
    // A number 0..99 per message for pct= sampling (§6.6.4); tests pass their own.
    private readonly Func<int> _percentile = percentile ?? (() => Random.Shared.Next(100));

    /// <param name="fromDomain">The one domain of the message's From field (the caller refuses or skips messages with none or several).</param>
    /// <param name="spfPassDomain">The MAIL FROM domain when SPF passed for it (the HELO name for the null sender, §3.1.2), else null.</param>
    /// <param name="dkimPassDomains">The d= of every signature that verified.</param>
    public async Task<DmarcOutcome> CheckAsync(string fromDomain, string? spfPassDomain, IReadOnlyList<string> dkimPassDomains, CancellationToken ct = default)
    {
        var from = fromDomain.TrimEnd('.').ToLowerInvariant();
        var org = suffixes.OrganizationalDomain(from);

        // §6.6.3: the From domain's record, else the organizational domain's.
        var (record, error) = await FindAsync(from, ct);
        var atOrg = false;
        if (record is null && error is null && org != from)
        {
            (record, error) = await FindAsync(org, ct);
            atOrg = true;
        }
        if (error is not null)
            return new DmarcOutcome(DmarcResult.TempError, from, null, DmarcPolicy.None, Problem: error);
        if (record is null)
            return new DmarcOutcome(DmarcResult.None, from, null, DmarcPolicy.None);

        var spfAligned = spfPassDomain is not null && Aligned(spfPassDomain, from, org, record.StrictSpf);
        var dkim = dkimPassDomains.FirstOrDefault(d => Aligned(d, from, org, record.StrictDkim));
        // §6.6.3 step: a subdomain's message found by the organizational domain's record gets sp= (default p=).
        var policy = atOrg ? record.SubdomainPolicy ?? record.Policy : record.Policy;
        if (spfAligned || dkim is not null)
            return new DmarcOutcome(DmarcResult.Pass, from, policy, DmarcPolicy.None, spfAligned, dkim?.ToLowerInvariant());
        // §6.6.4: pct= picks which failing messages get the policy; the others get the next weaker one.
        var disposition = policy;
        if (record.Percent < 100 && _percentile() >= record.Percent)
            disposition = policy switch
            {
                DmarcPolicy.Reject => DmarcPolicy.Quarantine,
                _ => DmarcPolicy.None,
            };
        return new DmarcOutcome(DmarcResult.Fail, from, policy, disposition);
    }

    /// <summary>§3.1.1/§3.1.2: strict is the same name; relaxed is the same organizational domain.</summary>
    private bool Aligned(string identifier, string from, string fromOrg, bool strict)
    {
        var d = identifier.TrimEnd('.').ToLowerInvariant();
        return strict ? d == from : suffixes.OrganizationalDomain(d) == fromOrg;
    }

    /// <summary>The one DMARC record at _dmarc.DOMAIN; none for zero or several (§6.6.3 step 5); an error for a DNS failure.</summary>
    private async Task<(DmarcRecord? Record, string? Error)> FindAsync(string domain, CancellationToken ct)
    {
        var answer = await dns.QueryAsync("_dmarc." + domain, DnsRecordType.Txt, ct);
        if (answer.Outcome == DnsOutcome.Error)
            return (null, $"_dmarc.{domain}: {answer.Error}");
        var candidates = answer.Texts.Where(DmarcRecord.IsCandidate).ToList();
        return candidates.Count == 1 ? (DmarcRecord.Parse(candidates[0]), null) : (null, null);
    }
}
