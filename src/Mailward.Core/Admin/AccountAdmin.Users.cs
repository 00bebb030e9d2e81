// User operations: add, delete, read, passwords, quotas and flags. Logins are not here: every
// password check goes through LoginService (throttled, one path for all protocols and tools).
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin
{
    /// <summary>vadduser: checks name, domain limit and password, makes the Maildir, then the record.</summary>
    public Task<UserResult> AddUserAsync(Actor actor, string address, PasswordInput password, string? gecos = null, Quota? quota = null,
        UserFlags flags = UserFlags.None) => ChangeAsync(actor, AdminOperation.AddUser, address, () =>
    {
        var a = MailAddress.Parse(address);
        var domain = AuthorizedDomain(actor, AdminOperation.AddUser, a.Domain, allowAlias: false, d =>
            new AdminRequest(AdminOperation.AddUser, d.Name, a.ToString()) { FlagsChanged = flags, Quota = quota, Limits = d.Limits, Password = password });
        if (store.FindUser(a.Local, domain.Name) is not null)
            throw new AccountException(AccountError.UserExists, $"user already exists: {a}");
        if (domain.Limits.MaxUsers is { } max && store.CountUsers(domain.Id) >= max)
            throw new AccountException(AccountError.LimitReached, $"limit reached: {domain.Name} allows at most {max} users");
        var (hash, clear, generated) = MakePassword(password);
        var (directory, intent) = store.ReserveFolder(domain.Id, slot => layout.UserDirectory(domain.Directory, a.Local, slot));
        var created = false;
        try
        {
            MailFolders.CreateUserFolder(layout.Resolve(directory));
            created = true;
            var user = store.AddUser(domain, new NewUser(a.Local, hash, clear, gecos ?? a.Local, quota, flags), directory, intent);
            return new UserResult(View(user), generated);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or AccountException)
        {
            UndoCreate(intent, directory, created);
            // In flight first, then added: the other add's record and the end of its intent are one
            // transaction, so one of the two holds whenever it is read in this order (asked the
            // other way round, that add could commit between the two reads and be seen as neither).
            if (!created && (AddInFlight(directory, intent) || store.FindUser(a.Local, domain.Name) is not null))
                throw new AccountException(AccountError.UserExists, $"user already exists: {a}"); // being added, or added meanwhile
            throw e is AccountException ? e : new AccountException(AccountError.StorageFailed, $"cannot create the user's folder: {e.Message}");
        }
    });

    /// <summary>vdeluser: the record goes first (with a recorded intent), then the folder.</summary>
    public Task DeleteUserAsync(Actor actor, string address) => ChangeAsync(actor, AdminOperation.DeleteUser, address, () =>
    {
        var user = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.DeleteUser, u.Domain, u.Address) { TargetFlags = u.Flags });
        var intent = store.DeleteUser(user);
        FinishDelete(intent, user.Directory);
        return true;
    });

    public Task<UserView> GetUserAsync(Actor actor, string address) =>
        Task.FromResult(View(AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.ReadUser, u.Domain, u.Address))));

    /// <summary>The user's last login per service (vuserinfo's last auth, one a service).</summary>
    public Task<IReadOnlyList<LastLogin>> ListLoginsAsync(Actor actor, string address) =>
        Task.FromResult(store.ListLogins(AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.ReadUser, u.Domain, u.Address)).Id));

    /// <summary>The password hash and any clear-text copy (vuserinfo -p, -C): the command line's alone.</summary>
    public Task<UserSecrets> GetUserSecretsAsync(Actor actor, string address)
    {
        var u = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.ReadUserSecrets, u.Domain, u.Address));
        return Task.FromResult(new UserSecrets(u.Address, u.PasswordHash, u.ClearPassword));
    }

    public Task<IReadOnlyList<UserView>> ListUsersAsync(Actor actor, string domain) =>
        Task.FromResult<IReadOnlyList<UserView>>(store.ListUsers(AuthorizedDomain(actor, AdminOperation.ListUsers, domain, allowAlias: true).Id).Select(View).ToList());

    /// <summary>One page of a domain's users (keyset by local part; the search matches the local part).</summary>
    public Task<Page<UserView>> ListUsersAsync(Actor actor, string domain, PageRequest page)
    {
        var p = store.ListUsers(AuthorizedDomain(actor, AdminOperation.ListUsers, domain, allowAlias: true).Id, page);
        return Task.FromResult(new Page<UserView>(p.Items.Select(View).ToList(), p.Next));
    }

    /// <summary>vpasswd, or a user's own change (vchangepw, once LoginService has checked the old one); returns a generated password.</summary>
    public Task<string?> SetPasswordAsync(Actor actor, string address, PasswordInput password) => ChangeAsync(actor, AdminOperation.SetPassword, address, () =>
    {
        var user = AuthorizedUser(actor, address, u =>
            new AdminRequest(AdminOperation.SetPassword, u.Domain, u.Address) { TargetFlags = u.Flags, Password = password });
        var (hash, clear, generated) = MakePassword(password);
        Patch(user, new UserPatch { Password = new PasswordChange(hash, clear) });
        return generated;
    });

    public Task<UserView> SetQuotaAsync(Actor actor, string address, Quota quota) => ChangeAsync(actor, AdminOperation.SetQuota, address, () =>
    {
        var user = AuthorizedUser(actor, address, u =>
            new AdminRequest(AdminOperation.SetQuota, u.Domain, u.Address) { TargetFlags = u.Flags, Quota = quota, Limits = store.FindDomain(u.Domain)?.Limits });
        Patch(user, new UserPatch { Quota = quota });
        return View(user with { Quota = quota });
    });

    /// <summary>vsetuserquota DOMAIN: every user of the domain; returns how many.</summary>
    public Task<int> SetDomainUsersQuotaAsync(Actor actor, string domain, Quota quota) => ChangeAsync(actor, AdminOperation.SetQuota, domain, () =>
    {
        var d = AuthorizedDomain(actor, AdminOperation.SetQuota, domain, allowAlias: true, d =>
            new AdminRequest(AdminOperation.SetQuota, d.Name) { Quota = quota, Limits = d.Limits });
        var users = store.ListUsers(d.Id);
        // A domain admin cannot reach a system admin's account, so neither can it through the whole domain.
        if (!actor.HasSystemScope && users.FirstOrDefault(u => u.Flags.HasFlag(UserFlags.SystemAdmin)) is { } sys)
            AdminAuthorizer.Authorize(actor, new AdminRequest(AdminOperation.SetQuota, d.Name, sys.Address) { TargetFlags = sys.Flags });
        foreach (var u in users)
            Patch(u, new UserPatch { Quota = quota });
        return users.Count;
    });

    /// <summary>vmoduser / user mod: flags, comment, quota and password in one update.</summary>
    public Task<UserView> ModifyUserAsync(Actor actor, string address, UserChange change) => ChangeAsync(actor, AdminOperation.ModifyUser, address, () =>
    {
        UserFlags NewFlags(UserFlags old) => ((change.ClearFlags ? UserFlags.None : old) | change.Set) & ~change.Unset;
        var user = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.ModifyUser, u.Domain, u.Address)
        {
            TargetFlags = u.Flags,
            FlagsChanged = NewFlags(u.Flags) ^ u.Flags,
            Quota = change.Quota,
            Limits = store.FindDomain(u.Domain)?.Limits,
            Password = change.Password,
        });
        // Only what changes is written, so a change made elsewhere at the same moment survives.
        var patch = new UserPatch
        {
            SetFlags = change.Set,
            UnsetFlags = change.ClearFlags ? ~change.Set | change.Unset : change.Unset, // clear all, then set: (f | s) & s & ~u
            Gecos = change.Gecos,
            Quota = change.Quota,
        };
        if (change.Password is not null)
        {
            var (hash, clear, _) = MakePassword(change.Password);
            patch = patch with { Password = new PasswordChange(hash, clear) };
        }
        Patch(user, patch);
        return View(store.FindUser(user.Local, user.Domain) ?? throw new AccountException(AccountError.UserNotFound, $"user does not exist: {user.Address}"));
    });

    /// <summary>Writes only what changes, so a change made elsewhere at the same moment survives.</summary>
    private void Patch(UserRecord user, UserPatch patch)
    {
        if (!store.PatchUser(user.Id, patch))
            throw new AccountException(AccountError.UserNotFound, $"user does not exist: {user.Address}");
    }

    /// <summary>The actor a logged-in account acts as (LoginService found it; the web admin asks).</summary>
    public static Actor ActorFor(UserRecord user) => Actor.For(user);

    /// <summary>
    /// The user an address names, once the actor may act on it: the domain is authorized first (so
    /// another tenant learns nothing of who exists), then <paramref name="request"/> with the user.
    /// </summary>
    private UserRecord AuthorizedUser(Actor actor, string address, Func<UserRecord, AdminRequest> request)
    {
        var a = MailAddress.Parse(address);
        var domain = store.FindDomain(a.Domain);
        var user = domain is null ? null : store.FindUser(a.Local, a.Domain);
        if (user is null)
        {
            // Nothing to show the rule but the name: may this actor ask about that domain's users at all?
            AdminAuthorizer.Authorize(actor, request(new UserRecord(0, domain?.Id ?? 0, domain?.Name ?? a.Domain, a.Local, PasswordHasher.NoPassword, null,
                "", Quota.Unlimited, UserFlags.None, "", default, null)) with
            { Quota = null, FlagsChanged = UserFlags.None, Password = null });
            throw new AccountException(domain is null ? AccountError.DomainNotFound : AccountError.UserNotFound,
                domain is null ? $"domain does not exist: {a.Domain}" : $"user does not exist: {a}");
        }
        AdminAuthorizer.Authorize(actor, request(user));
        return user;
    }

    private (string Hash, string? Clear, string? Generated) MakePassword(PasswordInput input)
    {
        switch (input)
        {
            case PasswordInput.Clear c:
                if (c.Password.Length == 0)
                    throw new AccountException(AccountError.InvalidArgument, "empty password");
                return (hasher.Hash(c.Password), storeClearText ? c.Password : null, null);
            case PasswordInput.Random r:
                var pw = RandomPassword.Generate(r.Length);
                return (hasher.Hash(pw), storeClearText ? pw : null, pw);
            case PasswordInput.Hashed h:
                if (!PasswordHasher.IsRecognizedHash(h.Hash))
                    throw new AccountException(AccountError.InvalidArgument, $"not a password hash this server can verify: {h.Hash}");
                return (h.Hash, null, null);
            default:
                return (PasswordHasher.NoPassword, null, null);
        }
    }
}
