// The admin writes and lists of the alias aggregate: delivery instruction lines per address.
// AddAliasLine checks the domain's MaxAliases / MaxForwards inside its write transaction.
namespace Mailward.Core.Accounts;

public interface IAliasStore
{
    IReadOnlyList<AliasRecord> ListAliases(long domainId);
    /// <summary>A domain's aliases by local part, each with all its lines; the search matches the local part.</summary>
    Page<AliasRecord> ListAliases(long domainId, PageRequest page);
    /// <summary>A domain's addresses counted as AliasRecord.IsForward sorts them (every line an &amp;address: a forward), in one query.</summary>
    (int Aliases, int Forwards) CountAliases(long domainId);
    void AddAliasLine(long domainId, string local, string line);
    int DeleteAlias(long domainId, string local, string? line);
    /// <summary>
    /// Replaces every line of an address with <paramref name="lines"/> in one transaction (none: the
    /// alias goes); an address without lines before counts against the domain's limits as AddAliasLine's.
    /// </summary>
    void SetAliasLines(long domainId, string local, IReadOnlyList<string> lines);
}
