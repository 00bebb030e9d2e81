// Copies one account store into another, whatever their providers (`mailward accounts copy`, as
// vpopmail's vconvert): every table the migrations made but `nodes` (the nodes serving each store
// are its own), row for row with its ids, read from one snapshot of the source and written in one
// counted write on the target, which ends holding exactly the source's rows. Safe to re-run: a
// target that already holds a copy is replaced; a target that holds domains the source does not is
// refused, untouched.
using System.Data;
using System.Data.Common;
using System.Text.RegularExpressions;

namespace Mailward.Core.Accounts;

/// <summary>A table copied and its rows in the source and, after the copy, in the target.</summary>
public sealed record CopiedTable(string Table, long SourceRows, long TargetRows);

public abstract partial class SqlAccountStore
{
    /// <summary>The query listing the store's tables (their names in the first column).</summary>
    protected abstract string TablesQuery { get; }

    /// <summary>A read transaction that sees one snapshot of the store for all its statements.</summary>
    protected virtual DbTransaction BeginSnapshot(DbConnection c) => c.BeginTransaction(IsolationLevel.Serializable);

    /// <summary>After rows were written with their own ids: the provider's id generators continue after them.</summary>
    protected virtual void AfterCopy(DbConnection c, DbTransaction tx, IReadOnlyList<string> tablesWithId)
    {
    }

    /// <summary>
    /// Copies every table (schema_migrations apart: each store keeps its own) into <paramref name="target"/>,
    /// then counts the target's rows; throws when a count differs (the report says which).
    /// </summary>
    public IReadOnlyList<CopiedTable> CopyTo(SqlAccountStore target)
    {
        if (target.SchemaVersion != SchemaVersion)
            throw new AccountException(AccountError.StorageFailed, $"the stores have schema versions {SchemaVersion} and {target.SchemaVersion}; open both with the same mailward");
        using var source = Open();
        using var snapshot = BeginSnapshot(source);
        var tables = CopyOrder(Query(source, snapshot, TablesQuery, r => r.GetString(0)));
        var names = Query(source, snapshot, "SELECT name FROM domains", r => r.GetString(0)).ToHashSet(StringComparer.Ordinal);
        var copied = new Dictionary<string, long>(StringComparer.Ordinal);
        target.Write((c, tx) =>
        {
            var strangers = target.Query(c, tx, "SELECT name FROM domains ORDER BY name", r => r.GetString(0)).Where(n => !names.Contains(n)).ToList();
            if (strangers.Count > 0)
                throw new AccountException(AccountError.InvalidArgument,
                    $"the target holds domains the source does not ({string.Join(", ", strangers.Take(5))}{(strangers.Count > 5 ? ", ..." : "")}); copy into an empty store or an earlier copy");
            var generation = target.Scalar(c, tx, "SELECT value FROM meta WHERE key = 'generation'");
            foreach (var table in Enumerable.Reverse(tables))
                target.Exec(c, tx, $"DELETE FROM {table}");
            var withId = new List<string>();
            foreach (var table in tables)
                copied[table] = CopyRows(source, snapshot, target, c, tx, table, withId);
            // The target's change counter keeps moving forward (its caches compare it), whatever the source's was.
            target.Exec(c, tx, "UPDATE meta SET value = $g WHERE key = 'generation'", ("$g", generation is null or DBNull ? 0L : Convert.ToInt64(generation)));
            target.AfterCopy(c, tx, withId);
        });
        snapshot.Commit();
        using var check = target.Open();
        var report = tables.Select(t => new CopiedTable(t, copied[t], Convert.ToInt64(target.Scalar(check, null, $"SELECT COUNT(*) FROM {t}")))).ToList();
        if (report.FirstOrDefault(t => t.SourceRows != t.TargetRows) is { } wrong)
            throw new AccountException(AccountError.StorageFailed, $"the copy of {wrong.Table} holds {wrong.TargetRows} rows, the source {wrong.SourceRows}");
        return report;
    }

    /// <summary>Streams one table's rows from the source into the target; the number copied.</summary>
    private long CopyRows(DbConnection source, DbTransaction snapshot, SqlAccountStore target, DbConnection c, DbTransaction tx, string table, List<string> withId)
    {
        using var read = Command(source, snapshot, $"SELECT * FROM {table}");
        using var r = read.ExecuteReader();
        var columns = Enumerable.Range(0, r.FieldCount).Select(r.GetName).ToList();
        if (columns.Contains("id", StringComparer.Ordinal))
            withId.Add(table);
        var insert = $"INSERT INTO {table}({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => $"$p{i}"))})";
        var values = new (string, object?)[columns.Count];
        long rows = 0;
        while (r.Read())
        {
            for (var i = 0; i < columns.Count; i++)
                values[i] = ($"$p{i}", r.IsDBNull(i) ? null : r.GetValue(i));
            target.Exec(c, tx, insert, values);
            rows++;
        }
        return rows;
    }

    /// <summary>
    /// The tables in the order the migrations made them (a table after the tables it refers to),
    /// schema_migrations and nodes left out (each store keeps its own: the nodes that serve it);
    /// a table no migration names goes last.
    /// </summary>
    private static List<string> CopyOrder(IEnumerable<string> tables)
    {
        var made = Regex.Matches(string.Join('\n', Schema.Migrations.Select(m => m.Sql)), @"(?:CREATE TABLE|RENAME TO)\s+(\w+)")
            .Select(m => m.Groups[1].Value).Distinct().ToList();
        return [.. tables.Where(t => t is not ("schema_migrations" or "nodes"))
            .OrderBy(t => made.IndexOf(t) is var i and >= 0 ? i : int.MaxValue).ThenBy(t => t, StringComparer.Ordinal)];
    }
}
