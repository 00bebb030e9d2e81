// Does an address of a hosted domain lead anywhere? The resolution order of qmail-local and
// vdelivermail: exact alias lines, then the user, then an extension of a user or alias
// (joe-news, joe+news), a mailing list and its command addresses (team, team-subscribe), then the
// domain's catch-all. Used at RCPT time and by delivery.
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
    /// <summary>A mailing list or one of its command addresses (docs/lists.md); Local is the list's name.</summary>
    List,
}

/// <summary>Whether a domain has a mailing list of a name (Core/Lists answers from the list folders).</summary>
public interface IListLookup
{
    bool IsList(DomainRecord domain, string name);
}

public sealed record Resolution(ResolutionKind Kind, DomainRecord? Domain = null, string? Local = null)
{
    public bool Accepts => Kind is ResolutionKind.Alias or ResolutionKind.User or ResolutionKind.Extension or ResolutionKind.CatchAll or ResolutionKind.List;
}

public sealed class RecipientResolver(IAccountDirectory directory, string extensionSeparators = "-+", IListLookup? lists = null)
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
            if (lists?.IsList(hosted, local) == true)
                return new Resolution(ResolutionKind.List, hosted, local);
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
                // A list's command address: team-subscribe (only '-' separates a list's commands).
                if (local[i] == '-' && lists?.IsList(hosted, baseName) == true)
                    return new Resolution(ResolutionKind.List, hosted, baseName);
            }
        }
        return hosted.CatchAll.Kind == CatchAllKind.Bounce
            ? new Resolution(ResolutionKind.NotFound, hosted)
            : new Resolution(ResolutionKind.CatchAll, hosted);
    }
}
