// The alias aggregate in the SQL account store: delivery instruction lines per address, the paged list,
// adds with MaxAliases / MaxForwards checked inside the write transaction.
using System.Data.Common;

namespace Mailward.Core.Accounts;

public abstract partial class SqlAccountStore
{
    public AliasRecord? FindAlias(string local, string domain)
    {
        var lines = HotQuery($"SELECT d.name, a.line FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE a.domain_id = {DomainIdOf} AND a.local = $l ORDER BY a.id",
            r => (Domain: r.GetString(0), Line: r.GetString(1)), ("$n", domain), ("$l", local));
        return lines.Count == 0 ? null : new AliasRecord(local, lines[0].Domain, [.. lines.Select(x => x.Line)]);
    }

    public ValueTask<AliasRecord?> FindAliasAsync(string local, string domain, CancellationToken ct = default) => new(FindAlias(local, domain));

    public IReadOnlyList<AliasRecord> ListAliases(long domainId) =>
        Query("SELECT a.local, d.name, a.line FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE a.domain_id = $d ORDER BY a.local, a.id",
                r => (Local: r.GetString(0), Domain: r.GetString(1), Line: r.GetString(2)), ("$d", domainId))
            .GroupBy(x => (x.Local, x.Domain))
            .Select(g => new AliasRecord(g.Key.Local, g.Key.Domain, g.Select(x => x.Line).ToList()))
            .ToList();

    // The domain page shows these counts at every load: counted in the database from the
    // (domain_id, local, line) index, not by loading every alias of the domain with its lines.
    public (int Aliases, int Forwards) CountAliases(long domainId) =>
        Query("""
            SELECT COALESCE(SUM(1 - f), 0), COALESCE(SUM(f), 0) FROM
                (SELECT MIN(CASE WHEN substr(line, 1, 1) = '&' THEN 1 ELSE 0 END) AS f FROM aliases WHERE domain_id = $d GROUP BY local) x
            """, r => (Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
                Convert.ToInt32(r.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)), ("$d", domainId))[0];

    public Page<AliasRecord> ListAliases(long domainId, PageRequest page)
    {
        // A page of addresses, then all their lines: an address never straddles two pages. The
        // search goes through the trigram index as the users' does (migration 13); an address of
        // several lines is several rows there, named once (DISTINCT).
        var locals = Searched(page, "aliases", "a", "local", "SELECT DISTINCT a.local", "", "a.domain_id = $d",
            r => r.GetString(0), l => l, ("$d", domainId));
        if (locals.Items.Count == 0)
            return new Page<AliasRecord>([], null);
        var lines = Query("""
            SELECT a.local, d.name, a.line FROM aliases a JOIN domains d ON d.id = a.domain_id
            WHERE a.domain_id = $d AND a.local >= $first AND a.local <= $last ORDER BY a.local, a.id
            """, r => (Local: r.GetString(0), Domain: r.GetString(1), Line: r.GetString(2)),
            ("$d", domainId), ("$first", locals.Items[0]), ("$last", locals.Items[^1]));
        var wanted = locals.Items.ToHashSet(StringComparer.Ordinal);
        var items = lines.Where(x => wanted.Contains(x.Local)).GroupBy(x => (x.Local, x.Domain))
            .Select(g => new AliasRecord(g.Key.Local, g.Key.Domain, [.. g.Select(x => x.Line)])).ToList();
        return new Page<AliasRecord>(items, locals.Next);
    }

    public void AddAliasLine(long domainId, string local, string line) => Write((c, tx) =>
    {
        if (Scalar(c, tx, "SELECT 1 FROM aliases WHERE domain_id = $d AND local = $l LIMIT 1", ("$d", domainId), ("$l", local)) is null)
            CheckAliasLimit(c, tx, domainId, forward: line.StartsWith('&'));
        try
        {
            Exec(c, tx, "INSERT INTO aliases(domain_id, local, line) VALUES ($d, $l, $line)", ("$d", domainId), ("$l", local), ("$line", line));
        }
        catch (DbException e) when (IsUniqueViolation(e))
        {
            throw new AccountException(AccountError.InvalidArgument, $"the alias already has this line: {line}");
        }
    });

    /// <summary>
    /// A new alias address counts against the domain's MaxForwards when its line forwards (&amp;),
    /// else against MaxAliases (as AliasRecord.IsForward counts them); checked inside the write
    /// transaction, so concurrent adds cannot pass the limit.
    /// </summary>
    private void CheckAliasLimit(DbConnection c, DbTransaction tx, long domainId, bool forward)
    {
        var limits = Query(c, tx, "SELECT name, max_aliases, max_forwards FROM domains WHERE id = $d",
            r => (Name: r.GetString(0), Aliases: NullableInt(r, 1), Forwards: NullableInt(r, 2)), ("$d", domainId));
        if (limits.Count == 0 || (forward ? limits[0].Forwards : limits[0].Aliases) is not { } most)
            return;
        var count = Convert.ToInt64(Scalar(c, tx, """
            SELECT COUNT(*) FROM (SELECT local FROM aliases WHERE domain_id = $d GROUP BY local
                HAVING MIN(CASE WHEN substr(line, 1, 1) = '&' THEN 1 ELSE 0 END) = $fwd) AS addresses
            """, ("$d", domainId), ("$fwd", forward ? 1 : 0)));
        if (count >= most)
            throw new AccountException(AccountError.LimitReached,
                $"limit reached: {limits[0].Name} allows at most {most} {(forward ? "forwards" : "aliases")}");
    }

    public int DeleteAlias(long domainId, string local, string? line) => Write((c, tx) =>
    {
        var n = line is null
            ? Exec(c, tx, "DELETE FROM aliases WHERE domain_id = $d AND local = $l", ("$d", domainId), ("$l", local))
            : Exec(c, tx, "DELETE FROM aliases WHERE domain_id = $d AND local = $l AND line = $line", ("$d", domainId), ("$l", local), ("$line", line));
        // The address's autoresponder goes with its last line, unless a user of that name keeps it.
        if (n > 0 && Scalar(c, tx, "SELECT 1 FROM aliases WHERE domain_id = $d AND local = $l UNION ALL SELECT 1 FROM users WHERE domain_id = $d AND local = $l",
                ("$d", domainId), ("$l", local)) is null)
            DeleteAutoresponderRows(c, tx, domainId, local);
        return n;
    });

    public void SetAliasLines(long domainId, string local, IReadOnlyList<string> lines) => Write((c, tx) =>
    {
        var existed = Scalar(c, tx, "SELECT 1 FROM aliases WHERE domain_id = $d AND local = $l LIMIT 1", ("$d", domainId), ("$l", local)) is not null;
        Exec(c, tx, "DELETE FROM aliases WHERE domain_id = $d AND local = $l", ("$d", domainId), ("$l", local));
        if (lines.Count == 0)
        {
            if (existed && Scalar(c, tx, "SELECT 1 FROM users WHERE domain_id = $d AND local = $l", ("$d", domainId), ("$l", local)) is null)
                DeleteAutoresponderRows(c, tx, domainId, local);
            return;
        }
        if (!existed)
            CheckAliasLimit(c, tx, domainId, forward: lines.All(l => l.StartsWith('&')));
        foreach (var line in lines.Distinct(StringComparer.Ordinal))
            Exec(c, tx, "INSERT INTO aliases(domain_id, local, line) VALUES ($d, $l, $line)", ("$d", domainId), ("$l", local), ("$line", line));
    });
}
