// The errors an admin action can end in. Each has a stable code (for the HTTP API and scripts)
// and a distinct exit status for the commands, so a script can tell "exists" from "illegal".
namespace Mailward.Core.Accounts;

public enum AccountError
{
    DomainExists = 10,
    DomainNotFound = 11,
    UserExists = 12,
    UserNotFound = 13,
    IllegalUser = 14,
    IllegalDomain = 15,
    NameTooLong = 16,
    QuotaMalformed = 17,
    LimitReached = 18,
    AliasNotFound = 19,
    InvalidArgument = 20,
    PasswordMismatch = 21,
    NotPermitted = 22,
    StorageFailed = 30,
}

public sealed class AccountException(AccountError error, string message) : Exception(message)
{
    public AccountError Error { get; } = error;

    /// <summary>The command's exit status for this error (never 0 or 1, which mean success and usage).</summary>
    public int ExitCode => (int)Error;
}
