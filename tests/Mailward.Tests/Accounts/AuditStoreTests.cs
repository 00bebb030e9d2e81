// The audit log's rows in the account store (schema migration 9) on both providers: appended with
// increasing ids, read newest first by keyset pages, filtered to a domain or to a set of domains
// (a domain admin's), and kept when their domain is deleted.
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Postgres;
using Mailward.Tests.Support;

namespace Mailward.Tests.Accounts;

public abstract class AuditStoreContract : IDisposable
{
    private IAccountStore? _store;

    protected abstract IAccountStore Open();

    private IAccountStore Store => _store ??= Open();

    public virtual void Dispose()
    {
        _store?.Dispose();
        GC.SuppressFinalize(this);
    }

    private static AuditRecord Row(string target, string? domain, int n) => new(0, DateTimeOffset.FromUnixTimeMilliseconds(1_790_000_000_000 + n),
        "root@admin.test", "systemadmin", "web 192.0.2.1", "SetQuota", target, domain, "done", null, "quota=10M", $"quota={n}M");

    [StoreFact]
    public void Rows_page_newest_first_and_filter_by_domain()
    {
        var d = Store.AddDomain("a.test", "a.test", CatchAll.Bounce, DomainLimits.None, null, "", 0);
        var ids = new List<long>();
        for (var i = 0; i < 7; i++)
            ids.Add(Store.AppendAudit(Row($"u{i}@{(i % 2 == 0 ? "a.test" : "b.test")}", i % 2 == 0 ? "a.test" : "b.test", i)));
        ids.Add(Store.AppendAudit(Row("192.0.2.0/24", null, 7)));
        Assert.Equal(ids.Order(), ids); // increasing

        var seen = new List<long>();
        var page = Store.ListAudit(new AuditQuery(null, 3));
        while (true)
        {
            seen.AddRange(page.Items.Select(e => e.Id));
            if (page.Next is null)
                break;
            page = Store.ListAudit(new AuditQuery(long.Parse(page.Next, System.Globalization.CultureInfo.InvariantCulture), 3));
        }
        Assert.Equal(Enumerable.Reverse(ids), seen);

        var first = Store.ListAudit(new AuditQuery(null, 1)).Items.Single();
        Assert.Equal(Row("192.0.2.0/24", null, 7) with { Id = ids[^1] }, first);

        Assert.Equal([ids[6], ids[4], ids[2], ids[0]], Store.ListAudit(new AuditQuery(null, 10, Domain: "a.test")).Items.Select(e => e.Id));
        Assert.Equal(4, Store.ListAudit(new AuditQuery(null, 10, Domains: ["a.test", "c.test"])).Items.Count);
        Assert.Equal(7, Store.ListAudit(new AuditQuery(null, 10, Domains: ["a.test", "b.test"])).Items.Count); // the system's row is not a domain's
        Assert.Empty(Store.ListAudit(new AuditQuery(null, 10, Domains: [])).Items);

        Store.DeleteDomain(d);
        Assert.Equal(4, Store.ListAudit(new AuditQuery(null, 10, Domain: "a.test")).Items.Count); // history outlives the domain
    }
}

public sealed class SqliteAuditStoreTests : AuditStoreContract
{
    private readonly TempFolder _folder = new();

    protected override IAccountStore Open() => new SqliteAccountStore($"Data Source={_folder.Combine("accounts.db")}");

    public override void Dispose()
    {
        base.Dispose();
        _folder.Dispose();
    }
}

[NeedsPostgres]
public sealed class PostgresAuditStoreTests : AuditStoreContract
{
    protected override IAccountStore Open() => new PostgresAccountStore(PostgresServer.CreateDatabase());
}
