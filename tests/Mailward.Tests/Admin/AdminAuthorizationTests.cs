// The authorization matrix as data: actors {system, system admin, admin of a.test, admin of a.test
// and b.test, the user joe@a.test, a key scoped to a.test, a read-only system key, a read-write
// system key} × every AccountAdmin operation × targets {own domain, other domain, alias domain of
// another, a system admin's account, the postmaster}. Each refusal is Forbidden, changes nothing in
// the real SQLite store and is audited as refused; each allowed actor gets past the authorizer.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Tests.Support;

namespace Mailward.Tests.Admin;

public sealed class AdminAuthorizationTests
{
    private static readonly Dictionary<string, Actor> Actors = new()
    {
        ["system"] = Actor.System,
        ["sysadmin"] = Actor.SystemAdmin("sys@a.test"),
        ["adminA"] = Actor.DomainAdmin("postmaster@a.test", "a.test"),
        ["adminAB"] = Actor.DomainAdmin("ann@a.test", "a.test", "b.test"),
        ["joe"] = Actor.User("joe@a.test"),
        ["keyA"] = Actor.ApiKey("key-a", ["a.test"], readOnly: false),
        ["keyRO"] = Actor.ApiKey("key-ro", null, readOnly: true),
        ["keyAll"] = Actor.ApiKey("key-all", null, readOnly: false),
    };

    private const string SystemWide = "system sysadmin keyAll";
    private const string SystemRead = "system sysadmin keyRO keyAll";
    private const string DomainA = "system sysadmin adminA adminAB keyA keyAll";
    private const string DomainAB = "system sysadmin adminAB keyAll";
    private const string ReadA = "system sysadmin adminA adminAB keyA keyRO keyAll";
    private const string ReadB = "system sysadmin adminAB keyRO keyAll";

    private sealed record Row(string Name, bool Writes, string Allowed, Func<AccountAdmin, Actor, Task> Run);

    private static Row R(string name, string allowed, Func<AccountAdmin, Actor, Task> run) => new(name, true, allowed, run);

    private static Row Read(string name, string allowed, Func<AccountAdmin, Actor, Task> run) => new(name, false, allowed, run);

    private static readonly Row[] Rows =
    [
        // --- reads ---
        Read("list domains", ReadA, (a, who) => a.ListDomainsAsync(who)),
        Read("read own domain", ReadA, (a, who) => a.GetDomainInfoAsync(who, "a.test")),
        Read("read other domain", ReadB, (a, who) => a.GetDomainInfoAsync(who, "b.test")),
        Read("read alias domain of other", ReadB, (a, who) => a.GetDomainInfoAsync(who, "alias-b.test")),
        Read("read a domain not hosted", SystemRead, (a, who) => a.GetDomainInfoAsync(who, "ghost.test")),
        Read("find other domain", ReadB, (a, who) => a.FindDomainAsync(who, "b.test")),
        Read("list alias domains of other", ReadB, (a, who) => a.ListDomainAliasesAsync(who, "b.test")),
        Read("list users of own domain", ReadA, (a, who) => a.ListUsersAsync(who, "a.test")),
        Read("list users of other domain", ReadB, (a, who) => a.ListUsersAsync(who, "b.test")),
        Read("list users through alias domain of other", ReadB, (a, who) => a.ListUsersAsync(who, "alias-b.test")),
        Read("list aliases of other domain", ReadB, (a, who) => a.ListAliasesAsync(who, "b.test")),
        Read("page users of other domain", ReadB, (a, who) => a.ListUsersAsync(who, "b.test", PageRequest.First)),
        Read("page aliases of other domain", ReadB, (a, who) => a.ListAliasesAsync(who, "b.test", PageRequest.First)),
        Read("page domains", ReadA, (a, who) => a.ListDomainsAsync(who, PageRequest.First)),
        Read("read own user", ReadA + " joe", (a, who) => a.GetUserAsync(who, "joe@a.test")),
        Read("read other domain's user", ReadB, (a, who) => a.GetUserAsync(who, "bob@b.test")),
        Read("read a missing user of other domain", ReadB, (a, who) => a.GetUserAsync(who, "ghost@b.test")),
        Read("read a user's secrets", "system", (a, who) => a.GetUserSecretsAsync(who, "joe@a.test")),
        Read("list relay rules", SystemRead, (a, who) => a.ListRelayRulesAsync(who)),
        Read("list roaming grants", SystemRead, (a, who) => a.ListRoamingAsync(who)),
        Read("list ip map", SystemRead, (a, who) => a.ListIpMapAsync(who)),

        // --- domains ---
        R("add a domain", SystemWide, (a, who) => a.AddDomainAsync(who, "new.test", new PasswordInput.Clear("pw"))),
        R("delete own domain", SystemWide, (a, who) => a.DeleteDomainAsync(who, "a.test")),
        R("delete other domain", SystemWide, (a, who) => a.DeleteDomainAsync(who, "b.test")),
        R("add an alias domain to own domain", SystemWide, (a, who) => a.AddDomainAliasAsync(who, "new-alias.test", "a.test")),
        R("delete own alias domain", DomainA, (a, who) => a.DeleteDomainAliasAsync(who, "alias-a.test")),
        R("delete other's alias domain", DomainAB, (a, who) => a.DeleteDomainAliasAsync(who, "alias-b.test")),
        R("set own catch-all", DomainA, (a, who) => a.SetCatchAllAsync(who, "a.test", new CatchAll(CatchAllKind.Forward, "x@remote.test"))),
        R("set other's catch-all", DomainAB, (a, who) => a.SetCatchAllAsync(who, "b.test", new CatchAll(CatchAllKind.Forward, "x@remote.test"))),
        R("set other's catch-all through its alias", DomainAB, (a, who) => a.SetCatchAllAsync(who, "alias-b.test", CatchAll.Bounce)),
        R("set own domain's limits", SystemWide, (a, who) => a.SetLimitsAsync(who, "a.test", DomainLimits.None with { MaxUsers = 1000 })),
        R("set other domain's limits", SystemWide, (a, who) => a.SetLimitsAsync(who, "b.test", DomainLimits.None)),

        // --- users ---
        R("add user to own domain", DomainA, (a, who) => a.AddUserAsync(who, "new@a.test", new PasswordInput.Clear("pw"))),
        R("add user to other domain", DomainAB, (a, who) => a.AddUserAsync(who, "new@b.test", new PasswordInput.Clear("pw"))),
        R("add user through alias domain of other", DomainAB, (a, who) => a.AddUserAsync(who, "new@alias-b.test", new PasswordInput.Clear("pw"))),
        R("add user to a domain not hosted", SystemWide, (a, who) => a.AddUserAsync(who, "new@ghost.test", new PasswordInput.Clear("pw"))),
        R("add a system admin to own domain", SystemWide, (a, who) => a.AddUserAsync(who, "new@a.test", new PasswordInput.Clear("pw"), flags: UserFlags.SystemAdmin)),
        R("add a no-limits user to own domain", SystemWide, (a, who) => a.AddUserAsync(who, "new@a.test", new PasswordInput.Clear("pw"), flags: UserFlags.NoLimits)),
        R("add user with quota above the domain's", SystemWide, (a, who) => a.AddUserAsync(who, "new@a.test", new PasswordInput.Clear("pw"), quota: Quota.Parse("200M"))),
        R("add user with quota within the domain's", DomainA, (a, who) => a.AddUserAsync(who, "new@a.test", new PasswordInput.Clear("pw"), quota: Quota.Parse("52428800S,500C"))),
        R("delete own domain's user", DomainA, (a, who) => a.DeleteUserAsync(who, "joe@a.test")),
        R("delete other domain's user", DomainAB, (a, who) => a.DeleteUserAsync(who, "bob@b.test")),
        R("delete a missing user of other domain", DomainAB, (a, who) => a.DeleteUserAsync(who, "ghost@b.test")),
        R("delete the system admin's account", SystemWide, (a, who) => a.DeleteUserAsync(who, "sys@a.test")),
        R("delete the postmaster", SystemWide, (a, who) => a.DeleteUserAsync(who, "postmaster@a.test")),
        R("set own domain user's password", DomainA + " joe", (a, who) => a.SetPasswordAsync(who, "joe@a.test", new PasswordInput.Clear("new"))),
        R("set a user's password as a hash", DomainA, (a, who) => a.SetPasswordAsync(who, "joe@a.test", new PasswordInput.Hashed("DmIMm9e5Hc8ic"))),
        R("set other domain user's password", DomainAB, (a, who) => a.SetPasswordAsync(who, "bob@b.test", new PasswordInput.Clear("new"))),
        R("set the system admin's password", SystemWide, (a, who) => a.SetPasswordAsync(who, "sys@a.test", new PasswordInput.Clear("new"))),
        R("set quota within the domain's", DomainA, (a, who) => a.SetQuotaAsync(who, "joe@a.test", Quota.Parse("10485760S,100C"))),
        R("set quota above the domain's", SystemWide, (a, who) => a.SetQuotaAsync(who, "joe@a.test", Quota.Parse("200M"))),
        R("set no quota in a domain with one", SystemWide, (a, who) => a.SetQuotaAsync(who, "joe@a.test", Quota.Unlimited)),
        R("set message count above the domain's", SystemWide, (a, who) => a.SetQuotaAsync(who, "joe@a.test", new Quota(1024, 0))),
        R("set other domain user's quota", DomainAB, (a, who) => a.SetQuotaAsync(who, "bob@b.test", Quota.Parse("10M"))),
        R("set quota of every user of own domain (a system admin among them)", SystemWide, (a, who) => a.SetDomainUsersQuotaAsync(who, "a.test", Quota.Parse("10M"))),
        R("set quota of every user of other domain", DomainAB, (a, who) => a.SetDomainUsersQuotaAsync(who, "b.test", Quota.Parse("10M"))),
        R("grant domain-admin in own domain", DomainA, (a, who) => a.ModifyUserAsync(who, "joe@a.test", new UserChange { Set = UserFlags.DomainAdmin })),
        R("grant system-admin", SystemWide, (a, who) => a.ModifyUserAsync(who, "joe@a.test", new UserChange { Set = UserFlags.SystemAdmin })),
        R("grant no-limits", SystemWide, (a, who) => a.ModifyUserAsync(who, "joe@a.test", new UserChange { Set = UserFlags.NoLimits })),
        R("grant expert", SystemWide, (a, who) => a.ModifyUserAsync(who, "joe@a.test", new UserChange { Set = UserFlags.Expert })),
        R("clear every flag of a no-limits user", SystemWide, (a, who) => a.ModifyUserAsync(who, "max@a.test", new UserChange { ClearFlags = true })),
        R("change a user's comment", DomainA, (a, who) => a.ModifyUserAsync(who, "joe@a.test", new UserChange { Gecos = "Joe" })),
        R("change the system admin's comment", SystemWide, (a, who) => a.ModifyUserAsync(who, "sys@a.test", new UserChange { Gecos = "Sys" })),
        R("modify other domain's user", DomainAB, (a, who) => a.ModifyUserAsync(who, "bob@b.test", new UserChange { Set = UserFlags.NoPop })),
        R("modify quota above the domain's", SystemWide, (a, who) => a.ModifyUserAsync(who, "joe@a.test", new UserChange { Quota = Quota.Parse("1G") })),

        // --- aliases and forwards ---
        R("forward own address", DomainA + " joe", (a, who) => a.AddAliasLineAsync(who, "joe@a.test", "x@remote.test")),
        R("forward another user's address", DomainA, (a, who) => a.AddAliasLineAsync(who, "ann@a.test", "x@remote.test")),
        R("forward other domain's address", DomainAB, (a, who) => a.AddAliasLineAsync(who, "bob@b.test", "x@remote.test")),
        R("forward through alias domain of other", DomainAB, (a, who) => a.AddAliasLineAsync(who, "bob@alias-b.test", "x@remote.test")),
        R("add a program line", "system", (a, who) => a.AddAliasLineAsync(who, "joe@a.test", "|/bin/true")),
        R("add a Maildir line", "system", (a, who) => a.AddAliasLineAsync(who, "joe@a.test", "/var/mail/joe/Maildir/")),
        R("redirect the postmaster", SystemWide, (a, who) => a.AddAliasLineAsync(who, "postmaster@a.test", "x@remote.test")),
        R("redirect abuse", SystemWide, (a, who) => a.AddAliasLineAsync(who, "abuse@a.test", "x@remote.test")),
        R("delete own forward", DomainA + " joe", (a, who) => a.DeleteAliasAsync(who, "joe@a.test", null)),
        R("delete own domain's alias", DomainA, (a, who) => a.DeleteAliasAsync(who, "info@a.test", null)),
        R("delete other domain's alias", DomainAB, (a, who) => a.DeleteAliasAsync(who, "info@b.test", null)),

        // --- relay rules and IP maps ---
        R("set a relay rule", SystemWide, (a, who) => a.SetRelayRuleAsync(who, "198.51.100.0/24", RelayAction.Allow, null)),
        R("delete a relay rule", SystemWide, (a, who) => a.DeleteRelayRuleAsync(who, "192.0.2.0/24")),
        R("map an address to own domain", SystemWide, (a, who) => a.AddIpMapAsync(who, "192.0.2.26", "a.test")),
        R("delete an ip map", SystemWide, (a, who) => a.DeleteIpMapAsync(who, "192.0.2.25", null)),

        // --- autoresponders (a user's own, its domain admins', the system's) ---
        Read("read own autoresponder", ReadA + " joe", (a, who) => a.GetAutoresponderAsync(who, "joe@a.test")),
        Read("read other domain user's autoresponder", ReadB, (a, who) => a.GetAutoresponderAsync(who, "bob@b.test")),
        Read("list other domain's autoresponders", ReadB, (a, who) => a.ListAutorespondersAsync(who, "b.test")),
        R("set own autoresponder", DomainA + " joe", (a, who) => a.SetAutoresponderAsync(who, "joe@a.test", new AutoresponderChange { Text = "away" })),
        R("set an alias address's autoresponder", DomainA, (a, who) => a.SetAutoresponderAsync(who, "info@a.test", new AutoresponderChange { Text = "closed" })),
        R("set other domain user's autoresponder", DomainAB, (a, who) => a.SetAutoresponderAsync(who, "bob@b.test", new AutoresponderChange { Text = "away" })),
        R("set the system admin's autoresponder", SystemWide, (a, who) => a.SetAutoresponderAsync(who, "sys@a.test", new AutoresponderChange { Text = "away" })),
        R("set an autoresponder through alias domain of other", DomainAB, (a, who) => a.SetAutoresponderAsync(who, "bob@alias-b.test", new AutoresponderChange { Text = "away" })),
        R("remove other domain user's autoresponder", DomainAB, (a, who) => a.DeleteAutoresponderAsync(who, "bob@b.test")),
    ];

    public static TheoryData<string> RowNames() => new(Rows.Select(r => r.Name));

    [Theory]
    [MemberData(nameof(RowNames))]
    public async Task Each_actor_is_refused_or_allowed_as_the_table_says(string name)
    {
        var row = Rows.Single(r => r.Name == name);
        var allowed = row.Allowed.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        Assert.All(allowed, a => Assert.Contains(a, Actors.Keys)); // no typo hides a case

        // Refusals first, all on one setup: each must leave the store exactly as it was.
        using (var env = await Setup.CreateAsync())
        {
            foreach (var (actorName, actor) in Actors.Where(a => !allowed.Contains(a.Key)))
            {
                var before = env.Snapshot();
                env.Audit.Entries.Clear();
                var e = await Assert.ThrowsAsync<AccountException>(() => row.Run(env.Admin, actor));
                Assert.True(e.Error == AccountError.Forbidden, $"{name} by {actorName}: expected Forbidden, got {e.Error}: {e.Message}");
                Assert.Equal(before, env.Snapshot());
                if (row.Writes)
                    Assert.Equal(AdminOutcome.Refused, Assert.Single(env.Audit.Entries).Outcome);
                else
                    Assert.Empty(env.Audit.Entries);
            }
        }

        // Each allowed actor passes the authorizer (it may still meet "not found"); a write on a fresh setup.
        using var shared = row.Writes ? null : await Setup.CreateAsync();
        foreach (var actorName in allowed)
        {
            using var fresh = row.Writes ? await Setup.CreateAsync() : null;
            var env = fresh ?? shared!;
            env.Audit.Entries.Clear();
            try
            {
                await row.Run(env.Admin, Actors[actorName]);
                if (row.Writes)
                    Assert.Equal(AdminOutcome.Done, Assert.Single(env.Audit.Entries).Outcome);
            }
            catch (AccountException e)
            {
                Assert.False(e.Error is AccountError.Forbidden or AccountError.NotPermitted, $"{name} by {actorName}: refused: {e.Message}");
                if (row.Writes)
                    Assert.Equal(AdminOutcome.Failed, Assert.Single(env.Audit.Entries).Outcome);
            }
        }
    }

    [Fact]
    public async Task A_domain_admin_lists_only_its_own_domains()
    {
        using var env = await Setup.CreateAsync();
        Assert.Equal(["a.test"], (await env.Admin.ListDomainsAsync(Actors["adminA"])).Select(d => d.Name));
        Assert.Equal(["a.test", "b.test"], (await env.Admin.ListDomainsAsync(Actors["adminAB"])).Select(d => d.Name).Order());
        Assert.Equal(["a.test", "b.test"], (await env.Admin.ListDomainsAsync(Actor.System)).Select(d => d.Name).Order());
        Assert.Equal(new[] { new DomainAliasView("alias-a.test", "a.test") }, await env.Admin.ListDomainAliasesAsync(Actors["keyA"]));

        // Paged, with the store's rules: a cursor after the last name, a limit, a search.
        await env.Admin.AddDomainAsync(Actor.System, "c.test", new PasswordInput.Clear("pw"));
        var first = await env.Admin.ListDomainsAsync(Actors["adminAB"], new PageRequest(Limit: 1));
        Assert.Equal(["a.test"], first.Items.Select(d => d.Name));
        Assert.Equal("a.test", first.Next);
        var second = await env.Admin.ListDomainsAsync(Actors["adminAB"], new PageRequest(first.Next, Limit: 1));
        Assert.Equal(["b.test"], second.Items.Select(d => d.Name));
        Assert.Null(second.Next);
        Assert.Equal(["b.test"], (await env.Admin.ListDomainsAsync(Actors["adminAB"], new PageRequest(Search: "B.T"))).Items.Select(d => d.Name));
        var all = await env.Admin.ListDomainsAsync(Actor.System, new PageRequest(Limit: 2));
        Assert.Equal(["a.test", "b.test"], all.Items.Select(d => d.Name));
        Assert.Equal("b.test", all.Next);
    }

    [Fact]
    public async Task A_user_with_no_password_change_may_not_change_it_but_its_admin_may()
    {
        using var env = await Setup.CreateAsync();
        await env.Admin.ModifyUserAsync(Actor.System, "joe@a.test", new UserChange { Set = UserFlags.NoPasswordChange });
        var e = await Assert.ThrowsAsync<AccountException>(() => env.Admin.SetPasswordAsync(Actors["joe"], "joe@a.test", new PasswordInput.Clear("new")));
        Assert.Equal(AccountError.NotPermitted, e.Error);
        Assert.Equal(AdminOutcome.Refused, env.Audit.Entries.Last().Outcome);
        await env.Admin.SetPasswordAsync(Actors["adminA"], "joe@a.test", new PasswordInput.Clear("new"));
        Assert.NotNull(await env.Runner.LoginAsync("joe@a.test", "new"));
    }

    [Fact]
    public async Task The_actor_of_a_logged_in_account_follows_its_flags()
    {
        using var env = await Setup.CreateAsync();
        async Task<Actor> Of(string address) => AccountAdmin.ActorFor((await env.Runner.LoginAsync(address, "pw"))!);
        Assert.Equal(ActorKind.SystemAdmin, (await Of("sys@a.test")).Kind);
        var postmaster = await Of("postmaster@a.test");
        Assert.Equal(ActorKind.DomainAdmin, postmaster.Kind);
        Assert.Equal(["a.test"], postmaster.Domains);
        Assert.Equal(ActorKind.DomainAdmin, (await Of("ann@a.test")).Kind); // the domain-admin flag
        var joe = await Of("joe@a.test");
        Assert.Equal((ActorKind.User, "joe@a.test"), (joe.Kind, joe.Name));
    }

    /// <summary>
    /// Two domains with their postmasters; a.test has a 100 MB domain quota, an alias domain, a system
    /// admin (sys), a domain admin by flag (ann), a no-limits user (max), joe, and an alias info@;
    /// b.test has bob (with an autoresponder), info@ and alias-b.test. Plus one relay rule and one IP map. Every password is "pw".
    /// </summary>
    private sealed class Setup : IDisposable
    {
        private Setup()
        {
            Directory.CreateDirectory(Runner.Data);
            Admin = Runner.Admin(audit: Audit);
        }

        public MailwardRunner Runner { get; } = new();
        public RecordingAudit Audit { get; } = new();
        public AccountAdmin Admin { get; }

        public static async Task<Setup> CreateAsync()
        {
            var s = new Setup();
            var admin = s.Admin;
            var sys = Actor.System;
            var pw = new PasswordInput.Clear("pw");
            await admin.AddDomainAsync(sys, "a.test", pw);
            await admin.AddDomainAsync(sys, "b.test", pw);
            await admin.SetLimitsAsync(sys, "a.test", DomainLimits.None with { DomainQuota = new Quota(100L * 1024 * 1024, 1000) });
            await admin.AddDomainAliasAsync(sys, "alias-a.test", "a.test");
            await admin.AddDomainAliasAsync(sys, "alias-b.test", "b.test");
            await admin.AddUserAsync(sys, "joe@a.test", pw);
            await admin.AddUserAsync(sys, "sys@a.test", pw, flags: UserFlags.SystemAdmin);
            await admin.AddUserAsync(sys, "ann@a.test", pw, flags: UserFlags.DomainAdmin);
            await admin.AddUserAsync(sys, "max@a.test", pw, flags: UserFlags.NoLimits);
            await admin.AddUserAsync(sys, "bob@b.test", pw);
            await admin.AddAliasLineAsync(sys, "info@a.test", "x@remote.test");
            await admin.AddAliasLineAsync(sys, "info@b.test", "x@remote.test");
            await admin.AddAliasLineAsync(sys, "joe@a.test", "joe@remote.test");
            await admin.SetRelayRuleAsync(sys, "192.0.2.0/24", RelayAction.Allow, null);
            await admin.AddIpMapAsync(sys, "192.0.2.25", "a.test");
            await admin.SetAutoresponderAsync(sys, "bob@b.test", new AutoresponderChange { Text = "away" });
            return s;
        }

        /// <summary>Everything an operation could change, read from the store itself.</summary>
        public string Snapshot()
        {
            var store = Runner.Store;
            var lines = new List<string>();
            foreach (var d in store.ListDomains())
            {
                lines.Add($"domain {d.Name} {d.CatchAll} {d.Limits} {string.Join(",", store.ListDomainAliases(d.Id))}");
                lines.AddRange(store.ListUsers(d.Id).Select(u => $"user {u.Address} {u.PasswordHash} {u.ClearPassword} {u.Gecos} {u.Quota} {u.Flags}"));
                lines.AddRange(store.ListAliases(d.Id).Select(a => $"alias {a.Address} {string.Join(",", a.Lines)}"));
                lines.AddRange(store.ListAutoresponders(d.Id).Select(a => $"autoresponder {a.Local}@{d.Name} {a.Subject} {a.Body} {a.IntervalDays} {a.Deliver}"));
            }
            lines.AddRange(store.ListRelayRules().Select(r => $"relay {r.Network} {r.Action}"));
            lines.AddRange(store.ListIpMap().Select(e => $"ipmap {e.Address} {e.Domain}"));
            return string.Join("\n", lines);
        }

        public void Dispose() => Runner.Dispose();
    }

    internal sealed class RecordingAudit : IAdminAudit
    {
        public List<AdminAuditEntry> Entries { get; } = [];

        public Task RecordAsync(AdminAuditEntry entry, CancellationToken ct = default)
        {
            Entries.Add(entry);
            return Task.CompletedTask;
        }
    }
}
