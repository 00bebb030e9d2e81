// The question of the list's `dmarc` From rewrite (docs/lists.md, "The From rewrite"): does the
// poster's From domain publish p=quarantine or p=reject? Asked through DMARC's own record lookup
// (Core/Dmarc: the From domain's record, else its organizational domain's, sp= for a subdomain).
using Mailward.Core.Dmarc;
using Mailward.Core.PolicyDns;

namespace Mailward.Core.Lists;

public sealed class ListDmarcLookup(DmarcChecker? checker)
{
    /// <summary>The lookup over the policy DNS and the suffix list; without the list every `dmarc` list rewrites (the safe side).</summary>
    public static ListDmarcLookup Create(IPolicyDns dns, string publicSuffixList)
    {
        try
        {
            return new ListDmarcLookup(new DmarcChecker(dns, PublicSuffixList.Load(publicSuffixList)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ListDmarcLookup(null);
        }
    }

    /// <summary>
    /// True when a copy of a post from <paramref name="fromDomain"/> must carry the list in From:
    /// the domain's policy is quarantine or reject (a copy the list changed fails DKIM and, sent
    /// from this host, SPF alignment), or the answer is not known (a DNS error, no suffix list).
    /// </summary>
    public async Task<bool> AsksForRewriteAsync(string fromDomain, CancellationToken ct)
    {
        if (checker is null)
            return true;
        // No SPF or DKIM result is passed: the question is only what the domain publishes.
        var outcome = await checker.CheckAsync(fromDomain, null, [], ct);
        return outcome.Result == DmarcResult.TempError || outcome.Policy is DmarcPolicy.Quarantine or DmarcPolicy.Reject;
    }
}
