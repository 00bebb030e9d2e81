// The admin writes and lists of the user aggregate. Changes are targeted (PatchUser,
// UpgradePasswordHash): a write names the fields it changes, so concurrent changes all survive.
// AddUser checks the domain's MaxUsers inside its write transaction.
namespace Mailward.Core.Accounts;

public interface IUserStore
{
    IReadOnlyList<UserRecord> ListUsers(long domainId);
    /// <summary>A domain's users by local part; the search matches the local part.</summary>
    Page<UserRecord> ListUsers(long domainId, PageRequest page);
    /// <summary>Adds the user, completing the folder intent; LimitReached past MaxUsers, UserExists for a taken name.</summary>
    UserRecord AddUser(DomainRecord domain, NewUser user, string directory, long intentId);
    long DeleteUser(UserRecord user);
    /// <summary>Writes every field of the record: for imports and tests. Changes go through <see cref="PatchUser"/>.</summary>
    void UpdateUser(UserRecord user);
    /// <summary>Writes only the fields the patch names; false when the user does not exist.</summary>
    bool PatchUser(long userId, UserPatch patch);
    /// <summary>
    /// A login's upgrade of a legacy hash: writes <paramref name="newHash"/> only while the stored
    /// hash is still <paramref name="verifiedHash"/> (an admin's new password wins); false otherwise.
    /// </summary>
    bool UpgradePasswordHash(long userId, string verifiedHash, string newHash);
    /// <summary>A login that succeeded: the user's last login, and its service's (user_logins).</summary>
    void RecordLogin(long userId, LastLogin login);
    /// <summary>The user's last login per service, by service name.</summary>
    IReadOnlyList<LastLogin> ListLogins(long userId);
}
