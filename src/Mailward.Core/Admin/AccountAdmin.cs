// The admin operations on domains, users, aliases, relay rules and IP maps: validation, limits,
// password hashing and the mail store's folders, in an order that leaves nothing half-made.
// The commands call these; the web admin and HTTP API will call the same (design.md, Admin).
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin(IAccountStore store, MailStoreLayout layout, PasswordHasher hasher, bool storeClearText = false, TimeProvider? time = null)
{
    /// <summary>An intent younger than this may belong to an admin action still running elsewhere.</summary>
    public static readonly TimeSpan IntentGracePeriod = TimeSpan.FromMinutes(10);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public IAccountStore Store => store;
    public MailStoreLayout Layout => layout;
    public PasswordHasher Hasher => hasher;

    // --- domains ----------------------------------------------------------------------------

    public sealed record DomainResult(DomainRecord Domain, UserRecord? Postmaster, string? GeneratedPassword);

    /// <summary>vadddomain: the domain, its folder and its postmaster account, all or nothing.</summary>
    public DomainResult AddDomain(string name, PasswordInput? postmasterPassword, CatchAll? catchAll = null,
        string? customDirectory = null, Quota? postmasterQuota = null, bool createPostmaster = true)
    {
        var domain = DomainName.Normalize(name);
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
        try
        {
            MailFolders.CreateDomainFolder(layout.Resolve(directory));
            if (postmaster is not null)
                MailFolders.CreateUserFolder(layout.Resolve(postmasterDir));
            var record = store.AddDomain(domain, directory, catchAll, DomainLimits.None, postmaster, postmasterDir, intent);
            return new DomainResult(record, postmaster is null ? null : store.FindUser("postmaster", domain), generated);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or AccountException)
        {
            UndoCreate(intent, directory);
            throw e is AccountException ? e : new AccountException(AccountError.StorageFailed, $"cannot create the domain's folder: {e.Message}");
        }
    }

    /// <summary>vdeldomain: the domain, its users, aliases, alias domains, IP maps and all its mail.</summary>
    public void DeleteDomain(string name)
    {
        var domain = RequireDomain(name, allowAlias: false);
        var intent = store.DeleteDomain(domain);
        FinishDelete(intent, domain.Directory);
    }

    public void AddDomainAlias(string alias, string realDomain)
    {
        var aliasName = DomainName.Normalize(alias);
        var real = RequireDomain(realDomain, allowAlias: false);
        store.AddDomainAlias(aliasName, real.Id);
    }

    public void DeleteDomainAlias(string alias)
    {
        var aliasName = DomainName.Normalize(alias);
        if (!store.DeleteDomainAlias(aliasName))
            throw new AccountException(AccountError.DomainNotFound, $"alias domain does not exist: {aliasName}");
    }

    public sealed record DomainInfo(DomainRecord Domain, IReadOnlyList<string> AliasDomains, int Users, int Aliases, int Forwards, string Folder);

    public DomainInfo GetDomainInfo(string name)
    {
        var d = RequireDomain(name, allowAlias: true);
        var aliases = store.ListAliases(d.Id);
        return new DomainInfo(d, store.ListDomainAliases(d.Id), store.CountUsers(d.Id),
            aliases.Count(a => !a.IsForward), aliases.Count(a => a.IsForward), layout.Resolve(d.Directory));
    }

    public void SetLimits(string name, Func<DomainLimits, DomainLimits> change)
    {
        var d = RequireDomain(name, allowAlias: false);
        store.SetLimits(d.Id, change(d.Limits));
    }

    public void SetCatchAll(string name, CatchAll catchAll)
    {
        var d = RequireDomain(name, allowAlias: false);
        ValidateCatchAll(d.Name, catchAll);
        store.SetCatchAll(d.Id, catchAll);
    }

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

    private void ValidateCatchAll(string domain, CatchAll catchAll)
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

    public DomainRecord RequireDomain(string name, bool allowAlias)
    {
        var n = DomainName.Normalize(name);
        var d = store.FindDomain(n);
        if (d is null || (!allowAlias && d.Name != n))
            throw new AccountException(AccountError.DomainNotFound,
                d is null ? $"domain does not exist: {n}" : $"{n} is an alias of {d.Name}; name the real domain");
        return d;
    }

    // --- folder intents ---------------------------------------------------------------------

    private void UndoCreate(long intent, string directory)
    {
        try
        {
            if (!store.IsFolderInUse(directory))
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
