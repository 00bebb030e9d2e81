// Does an address of a hosted domain lead anywhere? The resolution order of qmail-local and
// vdelivermail: exact alias lines, then the user, then an extension of a user or alias
// (joe-news, joe+news), then the domain's catch-all. Used at RCPT time and, later, by delivery.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Core.Routing;

public enum ResolutionKind
{
    NotHosted,
    Alias,
    User,
    Extension,
    CatchAll,
    NotFound,
}

public sealed record Resolution(ResolutionKind Kind, DomainRecord? Domain = null, string? Local = null)
{
    public bool Accepts => Kind is ResolutionKind.Alias or ResolutionKind.User or ResolutionKind.Extension or ResolutionKind.CatchAll;
}

public sealed class RecipientResolver(IAccountDirectory directory, string extensionSeparators = "-+")
{
    /// <summary>The lookups this resolver reads (for the callers that need the record it found).</summary>
    public IAccountDirectory Directory => directory;

    public async ValueTask<Resolution> ResolveAsync(string localPart, string domain, CancellationToken ct = default)
    {
        if (!DomainName.TryNormalize(domain, out var d, out _))
            return new Resolution(ResolutionKind.NotHosted);
        var hosted = await directory.FindDomainAsync(d, ct);
        if (hosted is null)
            return new Resolution(ResolutionKind.NotHosted);
        // A local part that cannot name a mailbox (quoted, '/', '%', '!', ...) matches nothing but the catch-all.
        if (LocalPart.TryNormalize(localPart, out var local, out _))
        {
            if (await directory.FindAliasAsync(local, hosted.Name, ct) is not null)
                return new Resolution(ResolutionKind.Alias, hosted, local);
            if (await directory.FindUserAsync(local, hosted.Name, ct) is not null)
                return new Resolution(ResolutionKind.User, hosted, local);
            // Longest base first: for a-b-c try a-b, then a (qmail-local's order).
            for (var i = local.Length - 1; i > 0; i--)
            {
                if (!extensionSeparators.Contains(local[i], StringComparison.Ordinal))
                    continue;
                var baseName = local[..i].TrimEnd('.');
                if (baseName.Length == 0)
                    continue;
                if (await directory.FindAliasAsync(baseName, hosted.Name, ct) is not null || await directory.FindUserAsync(baseName, hosted.Name, ct) is not null)
                    return new Resolution(ResolutionKind.Extension, hosted, baseName);
            }
        }
        return hosted.CatchAll.Kind == CatchAllKind.Bounce
            ? new Resolution(ResolutionKind.NotFound, hosted)
            : new Resolution(ResolutionKind.CatchAll, hosted);
    }
}
