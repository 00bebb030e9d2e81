// User operations: add, delete, passwords, quotas, flags; and the login check the services use.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin
{
    public sealed record UserResult(UserRecord User, string? GeneratedPassword);

    /// <summary>vadduser: checks name, domain limit and password, makes the Maildir, then the record.</summary>
    public UserResult AddUser(string address, PasswordInput password, string? gecos = null, Quota? quota = null, UserFlags flags = UserFlags.None)
    {
        var a = MailAddress.Parse(address);
        var domain = RequireDomain(a.Domain, allowAlias: false);
        if (store.FindUser(a.Local, domain.Name) is not null)
            throw new AccountException(AccountError.UserExists, $"user already exists: {a}");
        if (domain.Limits.MaxUsers is { } max && store.CountUsers(domain.Id) >= max)
            throw new AccountException(AccountError.LimitReached, $"limit reached: {domain.Name} allows at most {max} users");
        var (hash, clear, generated) = MakePassword(password);
        var (directory, intent) = store.ReserveFolder(domain.Id, slot => layout.UserDirectory(domain.Directory, a.Local, slot));
        try
        {
            MailFolders.CreateUserFolder(layout.Resolve(directory));
            var user = store.AddUser(domain, new NewUser(a.Local, hash, clear, gecos ?? a.Local, quota, flags), directory, intent);
            return new UserResult(user, generated);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or AccountException)
        {
            UndoCreate(intent, directory);
            throw e is AccountException ? e : new AccountException(AccountError.StorageFailed, $"cannot create the user's folder: {e.Message}");
        }
    }

    /// <summary>vdeluser: the record goes first (with a recorded intent), then the folder.</summary>
    public void DeleteUser(string address)
    {
        var user = RequireUser(address);
        var intent = store.DeleteUser(user);
        FinishDelete(intent, user.Directory);
    }

    public UserRecord RequireUser(string address)
    {
        var a = MailAddress.Parse(address);
        return store.FindUser(a.Local, a.Domain)
            ?? throw new AccountException(
                store.FindDomain(a.Domain) is null ? AccountError.DomainNotFound : AccountError.UserNotFound,
                store.FindDomain(a.Domain) is null ? $"domain does not exist: {a.Domain}" : $"user does not exist: {a}");
    }

    public IReadOnlyList<UserRecord> ListUsers(string domain) => store.ListUsers(RequireDomain(domain, allowAlias: true).Id);

    /// <summary>vpasswd: sets a new password; returns the generated one for -r.</summary>
    public string? SetPassword(string address, PasswordInput password)
    {
        var user = RequireUser(address);
        var (hash, clear, generated) = MakePassword(password);
        Patch(user, new UserPatch { Password = new PasswordChange(hash, clear) });
        return generated;
    }

    /// <summary>vchangepw: the user changes their own password, proving the old one.</summary>
    public void ChangePassword(string address, string oldPassword, string newPassword)
    {
        var user = RequireUser(address);
        if (!hasher.Verify(user.PasswordHash, oldPassword))
            throw new AccountException(AccountError.PasswordMismatch, "the old password is not correct");
        if (user.Flags.HasFlag(UserFlags.NoPasswordChange))
            throw new AccountException(AccountError.NotPermitted, $"{user.Address} may not change its password");
        SetPassword(address, new PasswordInput.Clear(newPassword));
    }

    public void SetQuota(string address, Quota quota)
    {
        Patch(RequireUser(address), new UserPatch { Quota = quota });
    }

    /// <summary>vsetuserquota DOMAIN: every user of the domain; returns how many.</summary>
    public int SetDomainUsersQuota(string domain, Quota quota)
    {
        var users = ListUsers(domain);
        foreach (var u in users)
            Patch(u, new UserPatch { Quota = quota });
        return users.Count;
    }

    public sealed record UserChange
    {
        public bool ClearFlags { get; init; }
        public UserFlags Set { get; init; }
        public UserFlags Unset { get; init; }
        public string? Gecos { get; init; }
        public Quota? Quota { get; init; }
        public PasswordInput? Password { get; init; }
    }

    /// <summary>vmoduser / user mod: flags, comment, quota and password in one update.</summary>
    public UserRecord ModifyUser(string address, UserChange change)
    {
        var user = RequireUser(address);
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
        return RequireUser(address);
    }

    /// <summary>Writes only what changes, so a change made elsewhere at the same moment survives.</summary>
    private void Patch(UserRecord user, UserPatch patch)
    {
        if (!store.PatchUser(user.Id, patch))
            throw new AccountException(AccountError.UserNotFound, $"user does not exist: {user.Address}");
    }

    /// <summary>Checks a login's password; on success upgrades a legacy hash and records the login.</summary>
    public UserRecord? Authenticate(string address, string password, string service, string clientAddress)
    {
        if (!MailAddress.TryParse(address, out var a, out _))
            return null;
        var user = store.FindUser(a.Local, a.Domain);
        if (user is null || !hasher.Verify(user.PasswordHash, password))
            return null;
        if (hasher.NeedsUpgrade(user.PasswordHash))
            store.UpgradePasswordHash(user.Id, user.PasswordHash, hasher.Hash(password));
        store.RecordLogin(user.Id, new LastLogin(_time.GetUtcNow(), clientAddress, service));
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
