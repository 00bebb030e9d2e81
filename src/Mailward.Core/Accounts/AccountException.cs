// The errors an admin action can end in. Each has a stable code (for the HTTP API and scripts)
// and a distinct exit status for the commands, so a script can tell "exists" from "illegal";
// Admin/AccountErrorTable maps each to its exit status, HTTP status and problem type.
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
    /// <summary>The actor asking has no right to this operation or value (AdminAuthorizer).</summary>
    Forbidden = 23,
    StorageFailed = 30,
}

public sealed class AccountException(AccountError error, string message) : Exception(message)
{
    public AccountError Error { get; } = error;
}
