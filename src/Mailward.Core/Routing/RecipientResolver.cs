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

public sealed class RecipientResolver(IAccountStore store, string extensionSeparators = "-+")
{
    public Resolution Resolve(string localPart, string domain)
    {
        if (!DomainName.TryNormalize(domain, out var d, out _))
            return new Resolution(ResolutionKind.NotHosted);
        var hosted = store.FindDomain(d);
        if (hosted is null)
            return new Resolution(ResolutionKind.NotHosted);
        // A local part that cannot name a mailbox (quoted, '/', '%', '!', ...) matches nothing but the catch-all.
        if (LocalPart.TryNormalize(localPart, out var local, out _))
        {
            if (store.FindAlias(local, hosted.Name) is not null)
                return new Resolution(ResolutionKind.Alias, hosted, local);
            if (store.FindUser(local, hosted.Name) is not null)
                return new Resolution(ResolutionKind.User, hosted, local);
            // Longest base first: for a-b-c try a-b, then a (qmail-local's order).
            for (var i = local.Length - 1; i > 0; i--)
            {
                if (!extensionSeparators.Contains(local[i], StringComparison.Ordinal))
                    continue;
                var baseName = local[..i].TrimEnd('.');
                if (baseName.Length == 0)
                    continue;
                if (store.FindAlias(baseName, hosted.Name) is not null || store.FindUser(baseName, hosted.Name) is not null)
                    return new Resolution(ResolutionKind.Extension, hosted, baseName);
            }
        }
        return hosted.CatchAll.Kind == CatchAllKind.Bounce
            ? new Resolution(ResolutionKind.NotFound, hosted)
            : new Resolution(ResolutionKind.CatchAll, hosted);
    }
}
