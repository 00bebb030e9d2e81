// The one store test suite: what every account provider must do, written against IAccountStore
// only. A provider joins by deriving a class that opens its store (SQLite and PostgreSQL below).
// OpenStore may be called several times: each call is another client of the same store (another
// process or node), which the concurrency cases need.
using System.Diagnostics;
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Cache;
using Mailward.Core.Accounts.Postgres;
using Mailward.Tests.Support;

namespace Mailward.Tests.Accounts;

public abstract class AccountStoreContract : IDisposable
{
    private readonly List<IAccountStore> _opened = [];
    private IAccountStore? _store;

    /// <summary>A new client of the provider's store under test, empty at the first call.</summary>
    protected abstract IAccountStore Open();

    protected IAccountStore Store => _store ??= OpenStore();

    protected IAccountStore OpenStore()
    {
        var s = Open();
        _opened.Add(s);
        return s;
    }

    public virtual void Dispose()
    {
        foreach (var s in _opened)
            s.Dispose();
        GC.SuppressFinalize(this);
    }

    private DomainRecord AddDomain(string name, DomainLimits? limits = null) =>
        Store.AddDomain(name, name, CatchAll.Bounce, limits ?? DomainLimits.None, null, "", 0);

    private static UserRecord AddUser(IAccountStore store, DomainRecord domain, string local, string hash = "*") =>
        store.AddUser(domain, new NewUser(local, hash, null, local, null), $"{domain.Name}/{local}", 0);

    [StoreFact]
    public async Task Domains_users_and_aliases_are_found_by_their_names_and_through_alias_domains()
    {
        var d = AddDomain("example.com");
        Store.AddDomainAlias("example.net", d.Id);
        var joe = AddUser(Store, d, "joe");
        Store.AddAliasLine(d.Id, "info", "&joe@example.com");
        Store.AddAliasLine(d.Id, "info", "&ann@remote.test");
        Store.AddIpMap(new IpMapEntry("192.0.2.10", "example.com"));

        Assert.Equal(d.Id, (await Store.FindDomainAsync("example.net"))!.Id);
        Assert.Equal("example.com", Store.FindDomain("example.net")!.Name);
        Assert.Null(await Store.FindDomainAsync("example.org"));
        var viaAlias = (await Store.FindUserAsync("joe", "example.net"))!;
        Assert.Equal((joe.Id, "joe@example.com"), (viaAlias.Id, viaAlias.Address));
        Assert.Null(await Store.FindUserAsync("joe", "example.org"));
        Assert.Null(await Store.FindUserAsync("ann", "example.com"));
        var info = (await Store.FindAliasAsync("info", "example.net"))!;
        Assert.Equal("info@example.com", info.Address);
        Assert.Equal(["&joe@example.com", "&ann@remote.test"], info.Lines);
        Assert.True(info.IsForward);
        Assert.Equal("example.com", await Store.MapIpToDomainAsync("192.0.2.10"));
        Assert.Null(await Store.MapIpToDomainAsync("192.0.2.11"));
    }

    [StoreFact]
    public void Taken_names_are_answered_as_exists()
    {
        var d = AddDomain("example.com");
        AddUser(Store, d, "joe");
        Store.AddAliasLine(d.Id, "info", "&joe@example.com");

        Assert.Equal(AccountError.DomainExists, Assert.Throws<AccountException>(() => AddDomain("example.com")).Error);
        Assert.Equal(AccountError.DomainExists, Assert.Throws<AccountException>(() => Store.AddDomainAlias("example.com", d.Id)).Error);
        Assert.Equal(AccountError.UserExists, Assert.Throws<AccountException>(() => AddUser(Store, d, "joe")).Error);
        Assert.Equal(AccountError.UserExists, Assert.Throws<AccountException>(() => AddUser(Store, d, "info")).Error); // an alias holds the name
        Assert.Equal(AccountError.InvalidArgument, Assert.Throws<AccountException>(() => Store.AddAliasLine(d.Id, "info", "&joe@example.com")).Error);
    }

    [StoreFact]
    public void Domain_limits_hold_for_users_aliases_and_forwards_apart()
    {
        var d = AddDomain("example.com", new DomainLimits { MaxUsers = 2, MaxAliases = 1, MaxForwards = 1 });
        AddUser(Store, d, "a");
        AddUser(Store, d, "b");
        Assert.Equal(AccountError.LimitReached, Assert.Throws<AccountException>(() => AddUser(Store, d, "c")).Error);

        Store.AddAliasLine(d.Id, "fwd", "&x@remote.test");
        Store.AddAliasLine(d.Id, "fwd", "&y@remote.test"); // another line of the same address is no new forward
        Store.AddAliasLine(d.Id, "box", "/var/mail/box/");
        Assert.Equal(AccountError.LimitReached, Assert.Throws<AccountException>(() => Store.AddAliasLine(d.Id, "fwd2", "&z@remote.test")).Error);
        Assert.Equal(AccountError.LimitReached, Assert.Throws<AccountException>(() => Store.AddAliasLine(d.Id, "box2", "/var/mail/box2/")).Error);

        Store.SetLimits(d.Id, DomainLimits.None);
        AddUser(Store, d, "c");
        Assert.Equal(3, Store.CountUsers(d.Id));
    }

    [StoreFact]
    public async Task Concurrent_clients_cannot_pass_MaxUsers()
    {
        var d = AddDomain("example.com", new DomainLimits { MaxUsers = 5 });
        var clients = Enumerable.Range(0, 12).Select(_ => OpenStore()).ToList();
        using var start = new Barrier(clients.Count);
        var results = await Task.WhenAll(clients.Select((client, i) => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(30));
            try
            {
                AddUser(client, d, $"u{i}");
                return (AccountError?)null;
            }
            catch (AccountException e)
            {
                return e.Error;
            }
        }, TaskCreationOptions.LongRunning)));

        Assert.Equal(5, results.Count(r => r is null));
        Assert.All(results.Where(r => r is not null), r => Assert.Equal(AccountError.LimitReached, r));
        Assert.Equal(5, Store.CountUsers(d.Id));
    }

    [StoreFact]
    public async Task Concurrent_adds_of_one_name_leave_one_user_and_tell_the_rest_it_exists()
    {
        var d = AddDomain("example.com");
        var clients = Enumerable.Range(0, 8).Select(_ => OpenStore()).ToList();
        using var start = new Barrier(clients.Count);
        var results = await Task.WhenAll(clients.Select(client => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(30));
            try
            {
                AddUser(client, d, "same");
                return (AccountError?)null;
            }
            catch (AccountException e)
            {
                return e.Error;
            }
        }, TaskCreationOptions.LongRunning)));

        Assert.Single(results, r => r is null);
        Assert.All(results.Where(r => r is not null), r => Assert.Equal(AccountError.UserExists, r)); // not StorageFailed
        Assert.Equal(1, Store.CountUsers(d.Id));
    }

    [StoreFact]
    public void Patches_write_only_what_they_name_and_an_upgrade_only_over_the_verified_hash()
    {
        var d = AddDomain("example.com");
        var joe = AddUser(Store, d, "joe", "old-hash");
        var other = OpenStore();

        Assert.True(Store.PatchUser(joe.Id, new UserPatch { SetFlags = UserFlags.NoPop | UserFlags.NoImap }));
        Assert.True(other.PatchUser(joe.Id, new UserPatch { UnsetFlags = UserFlags.NoImap, Quota = new Quota(1000, 0) }));
        Assert.True(Store.UpgradePasswordHash(joe.Id, "old-hash", "new-hash"));
        Assert.False(other.UpgradePasswordHash(joe.Id, "old-hash", "stale-upgrade")); // not over a hash it did not verify
        Assert.True(other.PatchUser(joe.Id, new UserPatch { Gecos = "Joe" }));

        var now = Store.FindUser("joe", "example.com")!;
        Assert.Equal((UserFlags.NoPop, new Quota(1000, 0), "new-hash", "Joe"), (now.Flags, now.Quota, now.PasswordHash, now.Gecos));
        Assert.True(Store.PatchUser(joe.Id, new UserPatch { Password = new PasswordChange("admin-hash", "clear") }));
        Assert.Equal(("admin-hash", "clear"), (Store.FindUser("joe", "example.com")!.PasswordHash, Store.FindUser("joe", "example.com")!.ClearPassword));
        Assert.False(Store.PatchUser(joe.Id + 1000, new UserPatch { Gecos = "x" }));
    }

    [StoreFact]
    public async Task Writes_move_the_change_counter_and_raise_Changed_and_quiet_writes_do_neither()
    {
        var d = AddDomain("example.com");
        var joe = AddUser(Store, d, "joe");
        var other = OpenStore();
        var changed = 0;
        Store.Changed += () => changed++;
        var before = await other.ReadChangeCounterAsync();

        Store.RecordLogin(joe.Id, new LastLogin(DateTimeOffset.UtcNow, "192.0.2.1", "pop3"));
        Store.GrantRoaming(new RoamingGrant("192.0.2.1", joe.Id, joe.Address, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddMinutes(5)));
        Assert.Equal((before, 0), (await other.ReadChangeCounterAsync(), changed));

        Store.PatchUser(joe.Id, new UserPatch { Gecos = "Joe" });
        Assert.NotEqual(before, await other.ReadChangeCounterAsync()); // seen by another client
        Assert.Equal(1, changed);
    }

    [StoreFact]
    public void Lists_page_by_cursor_with_a_limit_and_a_search()
    {
        var d = AddDomain("example.com");
        for (var i = 0; i < 25; i++)
            AddUser(Store, d, $"user{i:D2}");
        AddUser(Store, d, "joe_100%");

        var seen = new List<string>();
        var page = Store.ListUsers(d.Id, new PageRequest(Limit: 10));
        var pages = 1;
        while (true)
        {
            Assert.InRange(page.Items.Count, 1, 10);
            seen.AddRange(page.Items.Select(u => u.Local));
            if (page.Next is null)
                break;
            page = Store.ListUsers(d.Id, new PageRequest(page.Next, 10));
            pages++;
        }
        Assert.Equal(3, pages);
        Assert.Equal(Store.ListUsers(d.Id).Select(u => u.Local), seen); // the unpaged list, in the same order

        Assert.Equal(["user10", "user11", "user12", "user13", "user14", "user15", "user16", "user17", "user18", "user19"],
            Store.ListUsers(d.Id, new PageRequest(Search: "USER1")).Items.Select(u => u.Local));
        Assert.Equal(["joe_100%"], Store.ListUsers(d.Id, new PageRequest(Search: "_100%")).Items.Select(u => u.Local)); // wildcards match themselves
        Assert.Empty(Store.ListUsers(d.Id, new PageRequest(Search: "1%0")).Items);

        // A search pages by cursor too (the cursor and the search in one statement).
        var found = Store.ListUsers(d.Id, new PageRequest(Limit: 4, Search: "USER1"));
        Assert.Equal(["user10", "user11", "user12", "user13"], found.Items.Select(u => u.Local));
        Assert.Equal("user13", found.Next);
        found = Store.ListUsers(d.Id, new PageRequest(found.Next, 4, "USER1"));
        Assert.Equal(["user14", "user15", "user16", "user17"], found.Items.Select(u => u.Local));
        found = Store.ListUsers(d.Id, new PageRequest(found.Next, 4, "USER1"));
        Assert.Equal(["user18", "user19"], found.Items.Select(u => u.Local));
        Assert.Null(found.Next);
        // A cursor past the last name: an empty last page, not the list from its start.
        var past = Store.ListUsers(d.Id, new PageRequest("zzz", 10));
        Assert.Empty(past.Items);
        Assert.Null(past.Next);
    }

    [StoreFact]
    public void Searches_find_what_a_contains_match_finds_on_the_trigram_index_and_below_three_characters()
    {
        // The search is served by a trigram index (migration 12) from 3 characters on, by the LIKE
        // scan below; either way the results are the old LIKE '%text%' ones: case-insensitive,
        // % _ \ " matched as themselves, nothing across the @ (a user list searches the local part).
        string[] locals = ["alice", "bob.smith", "smith_j", "smithy", "100%off", "a_b", "ab", "x", "under_score",
            "joe.bloggs", "jo", "o'neil", "m\u00fcller", "back\\slash", "say\"hi\"", "abcabc"];
        var d = AddDomain("example.com");
        var other = AddDomain("example.org");
        foreach (var l in locals)
            AddUser(Store, d, l);
        AddUser(Store, other, "alice");
        AddUser(Store, other, "smithers");
        foreach (var n in new[] { "a-b.test", "ab.test", "abc.example", "x_y.test", "smith.test", "100.test" })
            AddDomain(n);
        var domains = Store.ListDomains().Select(x => x.Name).ToList();

        string[] searches = ["a", "AB", "ab", "b.s", "SMITH", "h_j", "_", "%", "100%", "0%o", "ll", "\u00dcLLE", "@", "alice@example.com",
            "e@e", "\"hi", "\\", "k\\s", "mith", "zzz", "bcab", "o'n", ".test", "X_Y", "a-b", "example.c", "1%0", "__"];
        foreach (var search in searches)
        {
            var wanted = locals.Where(l => l.Contains(search.ToLowerInvariant(), StringComparison.Ordinal)).Order(StringComparer.Ordinal);
            Assert.Equal(wanted, Walk(after => Store.ListUsers(d.Id, new PageRequest(after, 2, search)), u => u.Local));
            var wantedDomains = domains.Where(n => n.Contains(search.ToLowerInvariant(), StringComparison.Ordinal)).Order(StringComparer.Ordinal);
            Assert.Equal(wantedDomains, Walk(after => Store.ListDomains(new PageRequest(after, 2, search)), x => x.Name));
        }

        // The index moves with the rows, in their transactions: a deleted user or domain is not found,
        // one added again is.
        Store.DeleteUser(Store.ListUsers(d.Id).Single(u => u.Local == "smithy"));
        Assert.Equal(["bob.smith", "smith_j"], Store.ListUsers(d.Id, new PageRequest(Search: "smith")).Items.Select(u => u.Local));
        AddUser(Store, d, "smithy");
        Assert.Equal(["bob.smith", "smith_j", "smithy"], Store.ListUsers(d.Id, new PageRequest(Search: "smith")).Items.Select(u => u.Local));
        Store.DeleteDomain(Store.FindDomain("smith.test")!);
        Assert.Empty(Store.ListDomains(new PageRequest(Search: "smith")).Items);
        AddDomain("smith.test");
        Assert.Equal(["smith.test"], Store.ListDomains(new PageRequest(Search: "SMITH")).Items.Select(x => x.Name));
    }

    [StoreFact]
    public void Alias_searches_find_what_a_contains_match_finds_on_the_trigram_index_and_below_three_characters()
    {
        // Migration 13: the aliases page's search as the users' (trigram index from 3 characters on,
        // the LIKE below and as the exact test); an address of several lines is named once, on one page.
        string[] locals = ["sales", "wholesale", "resales_x", "info", "100%off", "a_b", "ab", "x", "back\\slash", "say\"hi\"", "m\u00fcller", "abcabc"];
        var d = AddDomain("example.com");
        var other = AddDomain("example.org");
        foreach (var l in locals)
        {
            Store.AddAliasLine(d.Id, l, "&one@remote.test");
            Store.AddAliasLine(d.Id, l, "&two@remote.test");
        }
        Store.AddAliasLine(other.Id, "salesman", "&one@remote.test");
        foreach (var search in new[] { "sale", "SALES", "a", "ab", "_", "%", "100%", "s_x", "\\", "k\\s", "\"hi", "\u00dcLLE", "bcab", "zzz", "@", "les" })
        {
            var wanted = locals.Where(l => l.Contains(search.ToLowerInvariant(), StringComparison.Ordinal)).Order(StringComparer.Ordinal);
            Assert.Equal(wanted, Walk(after => Store.ListAliases(d.Id, new PageRequest(after, 2, search)), a => a.Local));
        }
        Assert.All(Store.ListAliases(d.Id, new PageRequest(Search: "sale")).Items, a => Assert.Equal(2, a.Lines.Count));
        // The index moves with the rows: a removed alias is not found, one added again is.
        Store.DeleteAlias(d.Id, "wholesale", null);
        Assert.Equal(["resales_x", "sales"], Store.ListAliases(d.Id, new PageRequest(Search: "sale")).Items.Select(a => a.Local));
        Store.AddAliasLine(d.Id, "wholesale", "&one@remote.test");
        Assert.Equal(["resales_x", "sales", "wholesale"], Store.ListAliases(d.Id, new PageRequest(Search: "sale")).Items.Select(a => a.Local));
    }

    [StoreFact]
    public void A_login_is_the_users_last_and_its_services_last_and_goes_with_the_user()
    {
        var d = AddDomain("example.com");
        var joe = AddUser(Store, d, "joe");
        var ann = AddUser(Store, d, "ann");
        var t = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        Store.RecordLogin(joe.Id, new LastLogin(t, "192.0.2.1", "pop3"));
        Store.RecordLogin(joe.Id, new LastLogin(t.AddMinutes(1), "192.0.2.2", "imap"));
        Store.RecordLogin(joe.Id, new LastLogin(t.AddMinutes(2), "192.0.2.3", "pop3"));
        Store.RecordLogin(ann.Id, new LastLogin(t, "192.0.2.9", "web"));
        Assert.Equal([new LastLogin(t.AddMinutes(1), "192.0.2.2", "imap"), new LastLogin(t.AddMinutes(2), "192.0.2.3", "pop3")], Store.ListLogins(joe.Id));
        Assert.Equal(new LastLogin(t.AddMinutes(2), "192.0.2.3", "pop3"), Store.FindUser("joe", "example.com")!.LastLogin);
        Store.DeleteUser(Store.FindUser("joe", "example.com")!);
        Assert.Empty(Store.ListLogins(joe.Id));
        Assert.Single(Store.ListLogins(ann.Id));
        // A login recorded for a user deleted meanwhile leaves no row.
        Store.RecordLogin(joe.Id, new LastLogin(t.AddMinutes(3), "192.0.2.4", "smtp"));
        Assert.Empty(Store.ListLogins(joe.Id));
        Store.DeleteDomain(Store.FindDomain("example.com")!);
        Assert.Empty(Store.ListLogins(ann.Id));
    }

    [StoreFact]
    public void Aliases_and_forwards_are_counted_as_the_list_sorts_them()
    {
        var d = AddDomain("example.com");
        var other = AddDomain("example.org");
        Assert.Equal((0, 0), Store.CountAliases(d.Id));
        Store.AddAliasLine(d.Id, "fwd", "&joe@example.net");
        Store.AddAliasLine(d.Id, "fwd", "&ann@example.net");
        Store.AddAliasLine(d.Id, "mixed", "&joe@example.net");
        Store.AddAliasLine(d.Id, "mixed", "./Maildir/");
        Store.AddAliasLine(d.Id, "prog", "|/usr/bin/true");
        Store.AddAliasLine(d.Id, "one", "&x@example.net");
        Store.AddAliasLine(other.Id, "fwd", "&joe@example.net");
        var list = Store.ListAliases(d.Id);
        Assert.Equal((list.Count(a => !a.IsForward), list.Count(a => a.IsForward)), Store.CountAliases(d.Id));
        Assert.Equal((2, 2), Store.CountAliases(d.Id));
        Assert.Equal((0, 1), Store.CountAliases(other.Id));
    }

    /// <summary>Every item of a paged list, following the cursors.</summary>
    private static List<string> Walk<T>(Func<string?, Page<T>> list, Func<T, string> name)
    {
        var all = new List<string>();
        string? after = null;
        do
        {
            var page = list(after);
            all.AddRange(page.Items.Select(name));
            after = page.Next;
        }
        while (after is not null);
        return all;
    }

    [StoreFact]
    public void The_kept_user_count_follows_adds_deletes_and_refusals_per_domain()
    {
        var d = Store.AddDomain("example.com", "example.com", CatchAll.Bounce, new DomainLimits { MaxUsers = 3 },
            new NewUser("postmaster", "*", null, "postmaster", null), "example.com/postmaster", 0);
        var other = AddDomain("example.org");
        Assert.Equal((1, 0), (Store.CountUsers(d.Id), Store.CountUsers(other.Id))); // the domain's first user counts

        var joe = AddUser(Store, d, "joe");
        AddUser(Store, other, "joe");
        Assert.Equal(AccountError.UserExists, Assert.Throws<AccountException>(() => AddUser(Store, d, "joe")).Error);
        Store.AddAliasLine(d.Id, "info", "&joe@example.com");
        Assert.Equal(AccountError.UserExists, Assert.Throws<AccountException>(() => AddUser(Store, d, "info")).Error);
        AddUser(Store, d, "ann");
        Assert.Equal(AccountError.LimitReached, Assert.Throws<AccountException>(() => AddUser(Store, d, "bob")).Error);
        Assert.Equal((3, 1), (Store.CountUsers(d.Id), Store.CountUsers(other.Id))); // refused adds left no trace

        Store.DeleteUser(joe);
        Assert.Equal(AccountError.UserNotFound, Assert.Throws<AccountException>(() => Store.DeleteUser(joe)).Error);
        Assert.Equal((2, 1), (Store.CountUsers(d.Id), Store.CountUsers(other.Id)));
        AddUser(Store, d, "bob"); // the freed place is usable again
        Assert.Equal(3, Store.CountUsers(d.Id));
        Assert.Equal(Store.ListUsers(d.Id).Count, Store.CountUsers(d.Id));

        Store.DeleteDomain(d);
        Assert.Equal(0, Store.CountUsers(d.Id));
        var again = AddDomain("example.com");
        Assert.Equal(0, Store.CountUsers(again.Id)); // a new domain of the same name starts empty
    }

    [StoreFact]
    public void Every_admin_list_pages()
    {
        foreach (var n in new[] { "a.test", "b.test", "c.test" })
            AddDomain(n);
        var d = Store.FindDomain("b.test")!;
        foreach (var l in new[] { "x", "y", "z" })
        {
            Store.AddAliasLine(d.Id, l, $"&{l}1@remote.test");
            Store.AddAliasLine(d.Id, l, $"&{l}2@remote.test");
        }
        Store.SetRelayRule(new RelayRule("192.0.2.0/24", RelayAction.Allow, "", DateTimeOffset.UtcNow));
        Store.AddIpMap(new IpMapEntry("192.0.2.1", "a.test"));
        Store.AddIpMap(new IpMapEntry("192.0.2.1", "b.test"));
        Store.AddIpMap(new IpMapEntry("192.0.2.2", "c.test"));

        var domains = Store.ListDomains(new PageRequest(Limit: 2));
        Assert.Equal(["a.test", "b.test"], domains.Items.Select(x => x.Name));
        Assert.Equal("b.test", domains.Next);
        Assert.Equal(["c.test"], Store.ListDomains(new PageRequest(domains.Next, 2)).Items.Select(x => x.Name));

        var aliases = Store.ListAliases(d.Id, new PageRequest(Limit: 2));
        Assert.Equal(["x", "y"], aliases.Items.Select(a => a.Local));
        Assert.All(aliases.Items, a => Assert.Equal(2, a.Lines.Count)); // an address keeps all its lines on its page
        Assert.Equal(["z"], Store.ListAliases(d.Id, new PageRequest(aliases.Next, 2)).Items.Select(a => a.Local));

        var rules = Store.ListRelayRules(new PageRequest(Search: "192.0.2."));
        Assert.Equal(["192.0.2.0/24"], rules.Items.Select(r => r.Network));
        Assert.Equal(Store.ListRelayRules().Count, Store.ListRelayRules(PageRequest.First).Items.Count);

        var maps = Store.ListIpMap(new PageRequest(Limit: 2));
        Assert.Equal([("192.0.2.1", "a.test"), ("192.0.2.1", "b.test")], maps.Items.Select(m => (m.Address, m.Domain)));
        Assert.Equal([("192.0.2.2", "c.test")], Store.ListIpMap(new PageRequest(maps.Next, 2)).Items.Select(m => (m.Address, m.Domain)));
        Assert.Equal(["b.test"], Store.ListIpMap(new PageRequest(Search: "b.TEST")).Items.Select(m => m.Domain));
    }

    [StoreFact]
    public void Roaming_grants_are_extended_never_shortened_and_expire()
    {
        var d = AddDomain("example.com");
        var joe = AddUser(Store, d, "joe");
        var t = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Store.GrantRoaming(new RoamingGrant("192.0.2.1", joe.Id, joe.Address, t, t.AddMinutes(30)));
        Store.GrantRoaming(new RoamingGrant("192.0.2.1", joe.Id, joe.Address, t, t.AddMinutes(10)));

        Assert.Equal(t.AddMinutes(30), Assert.Single(Store.ListRoaming(t)).ExpiresAt);
        Assert.Empty(Store.ListRoaming(t.AddMinutes(31)));
    }

    [StoreFact]
    public void Deleting_a_domain_removes_everything_in_it_and_records_the_folder_intent()
    {
        var d = AddDomain("example.com");
        Store.AddDomainAlias("example.net", d.Id);
        AddUser(Store, d, "joe");
        Store.AddAliasLine(d.Id, "info", "&joe@example.com");
        Store.AddIpMap(new IpMapEntry("192.0.2.10", "example.com"));

        var intent = Store.DeleteDomain(d);

        Assert.Null(Store.FindDomain("example.com"));
        Assert.Null(Store.FindDomain("example.net"));
        Assert.Null(Store.FindUser("joe", "example.com"));
        Assert.Null(Store.MapIpToDomain("192.0.2.10"));
        var recorded = Assert.Single(Store.ListFolderIntents());
        Assert.Equal((intent, FolderIntentKind.Delete, "example.com"), (recorded.Id, recorded.Kind, recorded.Path));
        Store.CompleteFolderIntent(intent);
        Assert.Empty(Store.ListFolderIntents());
        Assert.Equal(AccountError.DomainNotFound, Assert.Throws<AccountException>(() => Store.DeleteDomain(d)).Error);
    }

    [StoreFact]
    public void A_cluster_job_runs_once_at_a_time_in_a_process_and_again_after()
    {
        var jobs = ClusterJobs.For(Store);
        var inner = true;
        var beside = false;
        Assert.True(jobs.TryRun("cleanup", () =>
        {
            inner = jobs.TryRun("cleanup", () => { });
            beside = jobs.TryRun("digest", () => { }); // another job is another lock
        }));
        Assert.False(inner);
        Assert.True(beside);
        Assert.True(jobs.TryRun("cleanup", () => { }));
        Assert.Throws<InvalidOperationException>(() => jobs.TryRun("cleanup", () => throw new InvalidOperationException("failed")));
        Assert.True(jobs.TryRun("cleanup", () => { })); // a failed run gives the job back
    }

    [StoreFact]
    public void A_nodes_start_is_recorded_and_the_last_start_kept()
    {
        var store = (SqlAccountStore)Store;
        using (var first = store.ClaimNode("node-a", "host1", 100, "1.0"))
            Assert.Equal(("node-a", "host1", 100, "1.0"), (first.Node.Name, first.Node.Host, first.Node.Pid, first.Node.Version));
        using (store.ClaimNode("node-b", "host2", 200, "1.0"))
        {
        }
        using (store.ClaimNode("node-a", "host3", 300, "1.1"))
        {
        }
        var nodes = store.ListNodes();
        Assert.Equal([("node-a", "host3", 300, "1.1"), ("node-b", "host2", 200, "1.0")], nodes.Select(n => (n.Name, n.Host, n.Pid, n.Version)));
        Assert.All(nodes, n => Assert.True(Math.Abs((n.StartedAt - DateTimeOffset.UtcNow).TotalMinutes) < 5));
    }
}

/// <summary>The suite on SQLite: one database file, each client its own store object on it.</summary>
public sealed class SqliteAccountStoreContract : AccountStoreContract
{
    private readonly TempFolder _folder = new();

    protected override IAccountStore Open() => new SqliteAccountStore($"Data Source={_folder.Combine("accounts.db")}");

    public override void Dispose()
    {
        base.Dispose();
        _folder.Dispose();
    }
}

/// <summary>The suite on PostgreSQL: a fresh database on the run's throwaway cluster, each client its own store object on it.</summary>
[NeedsPostgres]
public sealed class PostgresAccountStoreContract : AccountStoreContract
{
    private string? _database;

    protected override IAccountStore Open() => new PostgresAccountStore(_database ??= PostgresServer.CreateDatabase());

    [StoreFact]
    public void The_search_indexes_are_pg_trgm_GIN_ones_also_for_a_database_owner_without_superuser()
    {
        // Migration 12 creates pg_trgm (trusted since PostgreSQL 13: a database owner may) and the
        // two GIN indexes; the store here belongs to a plain role, as a packaged install's would.
        var admin = PostgresServer.CreateDatabase();
        var role = "owner_" + Guid.NewGuid().ToString("N")[..12];
        using (var c = new Npgsql.NpgsqlConnection(admin))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE";
            cmd.ExecuteNonQuery();
            cmd.CommandText = $"CREATE DATABASE {role} OWNER {role}";
            cmd.ExecuteNonQuery();
        }
        var owned = new Npgsql.NpgsqlConnectionStringBuilder(admin) { Username = role, Database = role }.ToString();
        using (var store = new PostgresAccountStore(owned))
        {
            var d = store.AddDomain("example.com", "example.com", CatchAll.Bounce, DomainLimits.None, null, "", 0);
            store.AddUser(d, new NewUser("blacksmith", "*", null, "", null), "example.com/blacksmith", 0);
            Assert.Equal(["blacksmith"], store.ListUsers(d.Id, new PageRequest(Search: "SMITH")).Items.Select(u => u.Local));
        }
        using (var c = new Npgsql.NpgsqlConnection(owned))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT string_agg(indexname || ' ' || indexdef, '; ' ORDER BY indexname) FROM pg_indexes WHERE indexname LIKE '%trigram'";
            var indexes = (string)cmd.ExecuteScalar()!;
            Assert.Contains("domains_name_trigram CREATE INDEX domains_name_trigram ON public.domains USING gin (name gin_trgm_ops)", indexes, StringComparison.Ordinal);
            Assert.Contains("users_local_trigram CREATE INDEX users_local_trigram ON public.users USING gin (local gin_trgm_ops)", indexes, StringComparison.Ordinal);
            Assert.Contains("aliases_local_trigram CREATE INDEX aliases_local_trigram ON public.aliases USING gin (local gin_trgm_ops)", indexes, StringComparison.Ordinal);
        }
    }

    [StoreFact]
    public void Without_pg_trgm_the_migrations_leave_a_notice_and_the_searches_stay_scans_that_find_the_same()
    {
        // A role that may make tables in the database's public schema but not extensions (no CREATE
        // on the database, which a trusted extension needs): migrations 12 and 13 cannot create
        // pg_trgm, go on without their indexes, and every search is the LIKE scan, to the same results.
        var admin = PostgresServer.CreateDatabase();
        var database = new Npgsql.NpgsqlConnectionStringBuilder(admin).Database!;
        var role = "plain_" + Guid.NewGuid().ToString("N")[..12];
        using (var c = new Npgsql.NpgsqlConnection(admin))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; REVOKE CREATE ON DATABASE {database} FROM PUBLIC; "
                + $"GRANT CONNECT ON DATABASE {database} TO {role}; GRANT USAGE, CREATE ON SCHEMA public TO {role}";
            cmd.ExecuteNonQuery();
        }
        var plain = new Npgsql.NpgsqlConnectionStringBuilder(admin) { Username = role }.ToString();
        using (var store = new PostgresAccountStore(plain))
        {
            Assert.Equal(Schema.Migrations[^1].Version, store.SchemaVersion);
            var d = store.AddDomain("smith.example", "smith.example", CatchAll.Bounce, DomainLimits.None, null, "", 0);
            foreach (var local in new[] { "blacksmith", "smithy", "jones" })
                store.AddUser(d, new NewUser(local, "*", null, "", null), $"smith.example/{local}", 0);
            store.AddAliasLine(d.Id, "sales", "&a@remote.test");
            store.AddAliasLine(d.Id, "sales", "&b@remote.test");
            store.AddAliasLine(d.Id, "wholesale", "&a@remote.test");
            store.AddAliasLine(d.Id, "info", "&a@remote.test");
            Assert.Equal(["blacksmith", "smithy"], store.ListUsers(d.Id, new PageRequest(Search: "SMITH")).Items.Select(u => u.Local));
            Assert.Equal(["sales", "wholesale"], store.ListAliases(d.Id, new PageRequest(Search: "sale")).Items.Select(a => a.Local));
            Assert.Equal(["sales"], store.ListAliases(d.Id, new PageRequest(Limit: 1, Search: "sale")).Items.Select(a => a.Local));
            Assert.Equal(["smith.example"], store.ListDomains(new PageRequest(Search: "ith.ex")).Items.Select(x => x.Name));
        }
        using (var c = new Npgsql.NpgsqlConnection(admin))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM pg_extension WHERE extname = 'pg_trgm'";
            Assert.Equal(0L, cmd.ExecuteScalar());
            cmd.CommandText = "SELECT COUNT(*) FROM pg_indexes WHERE indexname LIKE '%trigram'";
            Assert.Equal(0L, cmd.ExecuteScalar());
        }
    }

    [StoreFact]
    public async Task Another_nodes_write_reaches_this_nodes_cache_within_a_second_without_polling()
    {
        var d = Store.AddDomain("example.com", "example.com", CatchAll.Bounce, DomainLimits.None, null, "", 0);
        var otherNode = OpenStore();
        // The change counter is polled once an hour here: only the notification can make the cache forget.
        using var cache = CachedAccountDirectory.Over(Store, new AccountCacheOptions(1000, 1000, TimeSpan.FromHours(1)));
        Assert.Null(await cache.FindUserAsync("joe", "example.com")); // a cached miss
        await Task.Delay(200); // the listener is up

        otherNode.AddUser(d, new NewUser("joe", "*", null, "joe", null), "example.com/joe", 0);
        var seen = Stopwatch.StartNew();
        while (await cache.FindUserAsync("joe", "example.com") is null && seen.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(20);
        Assert.True(seen.Elapsed < TimeSpan.FromSeconds(1), $"the other node's user was seen after {seen.Elapsed}");
        Assert.NotNull(await cache.FindUserAsync("joe", "example.com"));
    }

    [StoreFact]
    public void A_cluster_job_running_on_one_node_is_skipped_by_the_others()
    {
        var nodeA = ClusterJobs.For(Store);
        var nodeB = ClusterJobs.For(OpenStore());
        var ranOnB = true;
        Assert.True(nodeA.TryRun("greylist-cleanup", () => ranOnB = nodeB.TryRun("greylist-cleanup", () => { })));
        Assert.False(ranOnB);
        Assert.True(nodeB.TryRun("greylist-cleanup", () => { })); // A's run is over: any node may take it
    }

    [StoreFact]
    public async Task A_mailbox_locked_on_one_node_is_in_use_on_the_others_and_free_at_once_when_that_node_is_gone()
    {
        var nodeA = (PostgresAccountStore)Store;
        var nodeB = (PostgresAccountStore)OpenStore();
        var joe = new Mailward.Core.MailStore.MailboxOwner("joe@example.com", "example.com/joe");
        var locksA = new Mailward.Core.MailStore.Locks.ClusterMailboxLocks(nodeA);
        var locksB = new Mailward.Core.MailStore.Locks.ClusterMailboxLocks(nodeB);

        using (var held = await locksA.TryAcquireAsync(joe, "a1", TimeSpan.FromHours(1)))
        {
            Assert.NotNull(held);
            Assert.Null(await locksB.TryAcquireAsync(joe, "b1", TimeSpan.Zero)); // another node
            Assert.Null(await locksA.TryAcquireAsync(joe, "a2", TimeSpan.Zero)); // another session of the same node
            using var other = await locksB.TryAcquireAsync(joe with { Directory = "example.com/ann" }, "b2", TimeSpan.Zero);
            Assert.NotNull(other); // another mailbox
        }
        using (var b = await locksB.TryAcquireAsync(joe, "b3", TimeSpan.Zero))
            Assert.NotNull(b); // given back

        Assert.NotNull(await locksA.TryAcquireAsync(joe, "a3", TimeSpan.Zero)); // held, never given back ...
        nodeA.Dispose(); // ... and the node's connection gone, as with SIGKILL
        // PostgreSQL ends the closed connection's backend (and frees its locks) a moment later, not within the Dispose call.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        var taken = await locksB.TryAcquireAsync(joe, "b4", TimeSpan.Zero);
        while (taken is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            taken = await locksB.TryAcquireAsync(joe, "b4", TimeSpan.Zero);
        }
        using var _ = taken;
        Assert.NotNull(taken);
    }

    [StoreFact]
    public void A_node_id_held_by_a_live_claim_is_refused_to_another_until_it_is_given_up()
    {
        var nodeA = (SqlAccountStore)Store;
        var elsewhere = (SqlAccountStore)OpenStore(); // another process, on another machine
        using (nodeA.ClaimNode("node-a", "host1", 100, "1.0"))
        {
            var refused = Assert.Throws<NodeInUseException>(() => elsewhere.ClaimNode("node-a", "host2", 200, "1.0"));
            Assert.Equal(("node-a", "host1", 100), (refused.Holder.Name, refused.Holder.Host, refused.Holder.Pid)); // the holder, untouched
            using (elsewhere.ClaimNode("node-b", "host2", 200, "1.0"))
            {
            }
        }
        using var taken = elsewhere.ClaimNode("node-a", "host2", 201, "1.0"); // given up: free at once
        Assert.Equal(201, taken.Node.Pid);
    }

    public override void Dispose()
    {
        base.Dispose();
        if (_database is not null)
            PostgresServer.DropDatabase(_database);
    }
}
