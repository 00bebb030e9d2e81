// Whose mail a mailbox is: the account's address and its stored folder, as the account store has
// them. The login code hands out an owner, never a path; the mail store alone resolves it.
using Mailward.Core.Accounts;

namespace Mailward.Core.MailStore;

public sealed record MailboxOwner(string Address, string Directory)
{
    public static MailboxOwner Of(UserRecord user) => new(user.Address, user.Directory);
}
