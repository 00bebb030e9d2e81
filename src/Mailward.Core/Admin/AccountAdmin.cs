// The admin operations on domains, users, aliases, relay rules and IP maps: who may (AdminAuthorizer,
// asked once per operation), validation, limits, password hashing and the mail store's folders, in
// an order that leaves nothing half-made; every change is told to the audit hook. What goes out is
// a read model without secrets (AdminViews). The commands call these; the web admin and HTTP API
// will call the same (design.md, Admin).
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin(IAccountStore store, MailStoreLayout layout, PasswordHasher hasher, bool storeClearText = false,
    TimeProvider? time = null, IAdminAudit? audit = null)
{
    /// <summary>An intent younger than this may belong to an admin action still running elsewhere.</summary>
    public static readonly TimeSpan IntentGracePeriod = TimeSpan.FromMinutes(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly IAdminAudit _audit = audit ?? LoggingAdminAudit.None;

    // --- domains ----------------------------------------------------------------------------

    /// <summary>vadddomain: the domain, its folder and its postmaster account, all or nothing.</summary>
    public Task<DomainResult> AddDomainAsync(Actor actor, string name, PasswordInput? postmasterPassword, CatchAll? catchAll = null,
        string? customDirectory = null, Quota? postmasterQuota = null, bool createPostmaster = true) =>
        ChangeAsync(actor, AdminOperation.AddDomain, name, () =>
    {
        var domain = DomainName.Normalize(name);
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.AddDomain, domain));
        if (store.FindDomain(domain) is not null)
            throw new AccountException(AccountError.DomainExists, $"domain already exists: {domain}");
        catchAll ??= CatchAll.Bounce;
        ValidateCatchAll(domain, catchAll);
        if (customDirectory is not null && !Path.IsPathRooted(customDirectory))
            throw new AccountException(AccountError.InvalidArgument, $"the domain folder must be an absolute path: {customDirectory}");

        NewUser? postmaster = null;
        string? generated = null;
        if (createPostmaster)
        {
            var (hash, clear, gen) = MakePassword(postmasterPassword ?? new PasswordInput.Random(RandomPassword.DefaultLength));
            generated = gen;
            postmaster = new NewUser("postmaster", hash, clear, "Postmaster", postmasterQuota);
        }
        var (directory, intent) = store.ReserveFolder(null, slot => customDirectory is not null
            ? Path.Combine(Path.GetFullPath(customDirectory), domain)
            : layout.DomainDirectory(domain, slot));
        // The postmaster is the domain's first user: slot 0 of its tree.
        var postmasterDir = MailStoreLayout.UserDirectory(directory, "postmaster", layout.NodePath(0));
        var created = false;
        try
        {
            MailFolders.CreateDomainFolder(layout.Resolve(directory));
            created = true;
            if (postmaster is not null)
                MailFolders.CreateUserFolder(layout.Resolve(postmasterDir));
            var record = store.AddDomain(domain, directory, catchAll, DomainLimits.None, postmaster, postmasterDir, intent);
            return new DomainResult(View(record), postmaster is null ? null : View(store.FindUser("postmaster", domain)!), generated);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or AccountException)
        {
            UndoCreate(intent, directory, created);
            if (!created && (store.FindDomain(domain) is not null || AddInFlight(directory, intent)))
                throw new AccountException(AccountError.DomainExists, $"domain already exists: {domain}"); // added meanwhile, or being added
            throw e is AccountException ? e : new AccountException(AccountError.StorageFailed, $"cannot create the domain's folder: {e.Message}");
        }
    });

    /// <summary>vdeldomain: the domain, its users, aliases, alias domains, IP maps and all its mail.</summary>
    public Task DeleteDomainAsync(Actor actor, string name) => ChangeAsync(actor, AdminOperation.DeleteDomain, name, () =>
    {
        var domain = AuthorizedDomain(actor, AdminOperation.DeleteDomain, name, allowAlias: false);
        var intent = store.DeleteDomain(domain);
        FinishDelete(intent, domain.Directory);
        return true;
    });

    public Task AddDomainAliasAsync(Actor actor, string alias, string realDomain) => ChangeAsync(actor, AdminOperation.AddDomainAlias, alias, () =>
    {
        var aliasName = DomainName.Normalize(alias);
        var real = AuthorizedDomain(actor, AdminOperation.AddDomainAlias, realDomain, allowAlias: false);
        store.AddDomainAlias(aliasName, real.Id);
        return true;
    });

    public Task DeleteDomainAliasAsync(Actor actor, string alias) => ChangeAsync(actor, AdminOperation.DeleteDomainAlias, alias, () =>
    {
        var aliasName = DomainName.Normalize(alias);
        // The admins of the real domain may drop its other names.
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.DeleteDomainAlias, store.FindDomain(aliasName)?.Name ?? aliasName));
        if (!store.DeleteDomainAlias(aliasName))
            throw new AccountException(AccountError.DomainNotFound, $"alias domain does not exist: {aliasName}");
        return true;
    });

    /// <summary>The hosted domains the actor administers (all of them for the system), by name.</summary>
    public Task<IReadOnlyList<DomainView>> ListDomainsAsync(Actor actor)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ListDomains));
        return Task.FromResult<IReadOnlyList<DomainView>>(store.ListDomains().Where(d => actor.Administers(d.Name)).Select(View).ToList());
    }

    /// <summary>
    /// One page of the domains the actor administers, by name (keyset: the cursor is the last name).
    /// A domain admin's few domains are paged here with the store's rules: after the cursor, containing the search.
    /// </summary>
    public Task<Page<DomainView>> ListDomainsAsync(Actor actor, PageRequest page)
    {
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ListDomains));
        if (actor.HasSystemScope)
        {
            var p = store.ListDomains(page);
            return Task.FromResult(new Page<DomainView>(p.Items.Select(View).ToList(), p.Next));
        }
        var names = actor.Domains.Order(StringComparer.Ordinal)
            .Where(n => page.After is null || string.CompareOrdinal(n, page.After) > 0)
            .Where(n => string.IsNullOrEmpty(page.Search) || n.Contains(page.Search, StringComparison.OrdinalIgnoreCase))
            .Take(page.Size + 1).ToList();
        // A name no longer hosted (deleted since the actor was made) is left out.
        var items = names.Take(page.Size).Select(n => store.FindDomain(n) is { } d && d.Name == n ? View(d) : null).OfType<DomainView>().ToList();
        return Task.FromResult(new Page<DomainView>(items, names.Count > page.Size ? names[page.Size - 1] : null));
    }

    /// <summary>Alias domains of one domain, or of every domain the actor administers.</summary>
    public async Task<IReadOnlyList<DomainAliasView>> ListDomainAliasesAsync(Actor actor, string? domain = null)
    {
        IEnumerable<DomainRecord> domains = domain is null
            ? (await ListDomainsAsync(actor)).Select(d => store.FindDomain(d.Name)!)
            : [AuthorizedDomain(actor, AdminOperation.ReadDomain, domain, allowAlias: true)];
        return domains.SelectMany(d => store.ListDomainAliases(d.Id).Select(a => new DomainAliasView(a, d.Name))).ToList();
    }

    /// <summary>The hosted domain a name means (following alias domains), or null when none is hosted.</summary>
    public Task<DomainView?> FindDomainAsync(Actor actor, string name)
    {
        var n = DomainName.Normalize(name);
        var d = store.FindDomain(n);
        AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.ReadDomain, d?.Name ?? n));
        return Task.FromResult(d is null ? null : View(d));
    }

    /// <summary>A domain by name; with <paramref name="allowAlias"/> an alias domain's name means its real domain.</summary>
    public Task<DomainView> GetDomainAsync(Actor actor, string name, bool allowAlias = true) =>
        Task.FromResult(View(AuthorizedDomain(actor, AdminOperation.ReadDomain, name, allowAlias)));

    public Task<DomainInfo> GetDomainInfoAsync(Actor actor, string name)
    {
        var d = AuthorizedDomain(actor, AdminOperation.ReadDomain, name, allowAlias: true);
        var (aliases, forwards) = store.CountAliases(d.Id);
        return Task.FromResult(new DomainInfo(View(d), store.ListDomainAliases(d.Id), store.CountUsers(d.Id),
            aliases, forwards, layout.Resolve(d.Directory)));
    }

    /// <summary>vmoddomlimits: the domain's new limits, whole.</summary>
    public Task<DomainView> SetLimitsAsync(Actor actor, string name, DomainLimits limits) => ChangeAsync(actor, AdminOperation.SetDomainLimits, name, () =>
    {
        var d = AuthorizedDomain(actor, AdminOperation.SetDomainLimits, name, allowAlias: false);
        store.SetLimits(d.Id, limits);
        return View(d with { Limits = limits });
    });

    public Task<DomainView> SetCatchAllAsync(Actor actor, string name, CatchAll catchAll) => ChangeAsync(actor, AdminOperation.SetCatchAll, name, () =>
    {
        var d = AuthorizedDomain(actor, AdminOperation.SetCatchAll, name, allowAlias: false);
        ValidateCatchAll(d.Name, catchAll);
        store.SetCatchAll(d.Id, catchAll);
        return View(d with { CatchAll = catchAll });
    });

    /// <summary>Parses bounce | delete | mailbox:USER | forward:ADDRESS (or a bare address, as vadddomain -e).</summary>
    public static CatchAll ParseCatchAll(string text)
    {
        var t = text.Trim();
        if (t.Equals("bounce", StringComparison.OrdinalIgnoreCase) || t.Equals("bounce-no-mailbox", StringComparison.OrdinalIgnoreCase))
            return CatchAll.Bounce;
        if (t.Equals("delete", StringComparison.OrdinalIgnoreCase))
            return new CatchAll(CatchAllKind.Delete);
        if (t.StartsWith("mailbox:", StringComparison.OrdinalIgnoreCase))
            return new CatchAll(CatchAllKind.Mailbox, t[8..]);
        if (t.StartsWith("forward:", StringComparison.OrdinalIgnoreCase))
            return new CatchAll(CatchAllKind.Forward, t[8..]);
        if (t.Contains('@', StringComparison.Ordinal))
            return new CatchAll(CatchAllKind.Forward, t);
        throw new AccountException(AccountError.InvalidArgument, $"catch-all must be bounce, delete, mailbox:USER or forward:ADDRESS, not '{text}'");
    }

    private static void ValidateCatchAll(string domain, CatchAll catchAll)
    {
        switch (catchAll.Kind)
        {
            case CatchAllKind.Mailbox:
                if (!LocalPart.TryNormalize(catchAll.Target, out _, out var e))
                    throw new AccountException(AccountError.IllegalUser, e);
                break;
            case CatchAllKind.Forward:
                if (!ForwardAddress.TryNormalize(catchAll.Target, out var fwd, out var err))
                    throw new AccountException(AccountError.InvalidArgument, err);
                if (fwd.EndsWith("@" + domain, StringComparison.Ordinal))
                    throw new AccountException(AccountError.InvalidArgument, "a catch-all cannot forward into its own domain (it would loop)");
                break;
        }
    }

    /// <summary>
    /// The domain a name means, once the actor may <paramref name="operation"/> on it (or
    /// <paramref name="request"/>, built from the domain, when the rule needs more than its name).
    /// Asked before "does it exist", so another tenant's domain is refused whether or not it is hosted.
    /// </summary>
    private DomainRecord AuthorizedDomain(Actor actor, AdminOperation operation, string name, bool allowAlias, Func<DomainRecord, AdminRequest>? request = null)
    {
        var n = DomainName.Normalize(name);
        var d = store.FindDomain(n);
        AdminAuthorizer.Authorize(actor, d is not null && request is not null ? request(d) : new AdminRequest(operation, d?.Name ?? n));
        return RequireDomain(n, d, allowAlias);
    }

    private static DomainRecord RequireDomain(string name, DomainRecord? found, bool allowAlias) =>
        found is null || (!allowAlias && found.Name != name)
            ? throw new AccountException(AccountError.DomainNotFound,
                found is null ? $"domain does not exist: {name}" : $"{name} is an alias of {found.Name}; name the real domain")
            : found;

    // --- read models ------------------------------------------------------------

    private static DomainView View(DomainRecord d) => new(d.Name, d.CatchAll, d.Limits, d.CreatedAt);

    private UserView View(UserRecord u) => new(u.Local, u.Domain, u.Gecos, u.Quota, u.Flags, layout.Resolve(u.Directory), u.CreatedAt, u.LastLogin,
        CanLogIn: u.PasswordHash != PasswordHasher.NoPassword,
        LegacyHash: u.PasswordHash != PasswordHasher.NoPassword && hasher.NeedsUpgrade(u.PasswordHash));

    // --- folder intents ---------------------------------------------------------------------

    /// <summary>Another add's create intent names this folder: the same name is being added right now.</summary>
    private bool AddInFlight(string directory, long ownIntent) =>
        store.ListFolderIntents().Any(i => i.Kind == FolderIntentKind.Create && i.Id != ownIntent && i.Path == directory);

    /// <summary>
    /// Drops a failed add's intent, and its folder when this add made it. A folder that already
    /// existed may be another add's of the same name still in flight (its own intent guards it;
    /// recovery removes it if that add dies): never ours to remove.
    /// </summary>
    private void UndoCreate(long intent, string directory, bool created)
    {
        try
        {
            if (created && !store.IsFolderInUse(directory))
                MailFolders.Remove(layout.Resolve(directory));
            store.CompleteFolderIntent(intent);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The intent stays; RecoverFolders finishes the clean-up.
        }
    }

    private void FinishDelete(long intent, string directory)
    {
        try
        {
            MailFolders.Remove(layout.Resolve(directory));
            store.CompleteFolderIntent(intent);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The account is gone; the intent stays and RecoverFolders removes the rest later.
        }
    }

    /// <summary>
    /// Finishes what a crash or failure left: removes folders of creations that never committed and
    /// of deletions that committed. Only intents older than <paramref name="minAge"/> are touched.
    /// Returns how many intents were completed.
    /// </summary>
    public int RecoverFolders(TimeSpan? minAge = null)
    {
        var cutoff = _time.GetUtcNow() - (minAge ?? IntentGracePeriod);
        var done = 0;
        foreach (var intent in store.ListFolderIntents().Where(i => i.CreatedAt <= cutoff))
        {
            try
            {
                if (intent.Kind == FolderIntentKind.Delete || !store.IsFolderInUse(intent.Path))
                    MailFolders.Remove(layout.Resolve(intent.Path));
                store.CompleteFolderIntent(intent.Id);
                done++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next recovery.
            }
        }
        return done;
    }
}
