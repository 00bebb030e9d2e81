// One table for every face of the admin: each AccountError's exit status (the commands), HTTP
// status and RFC 9457 problem type (the API to come). The exit statuses are the README's contract.
using Mailward.Core.Accounts;

namespace Mailward.Core.Admin;

public static class AccountErrorTable
{
    /// <summary>How one error is told: exit status, HTTP status, and the problem type's short name.</summary>
    public sealed record Entry(AccountError Error, int ExitCode, int HttpStatus, string ProblemName)
    {
        /// <summary>The RFC 9457 "type" member: a URI naming the problem, stable across versions.</summary>
        public string ProblemType => "urn:mailward:problem:" + ProblemName;
    }

    public static readonly IReadOnlyList<Entry> Entries =
    [
        new(AccountError.DomainExists, 10, 409, "domain-exists"),
        new(AccountError.DomainNotFound, 11, 404, "domain-not-found"),
        new(AccountError.UserExists, 12, 409, "user-exists"),
        new(AccountError.UserNotFound, 13, 404, "user-not-found"),
        new(AccountError.IllegalUser, 14, 400, "illegal-user"),
        new(AccountError.IllegalDomain, 15, 400, "illegal-domain"),
        new(AccountError.NameTooLong, 16, 400, "name-too-long"),
        new(AccountError.QuotaMalformed, 17, 400, "quota-malformed"),
        // The domain's current count is the conflict: the same request succeeds after a delete.
        new(AccountError.LimitReached, 18, 409, "limit-reached"),
        new(AccountError.AliasNotFound, 19, 404, "alias-not-found"),
        new(AccountError.InvalidArgument, 20, 400, "invalid-argument"),
        new(AccountError.PasswordMismatch, 21, 400, "password-mismatch"),
        // The account's own rule (no-password-change), whoever asks.
        new(AccountError.NotPermitted, 22, 403, "not-permitted"),
        // The actor's rights (AdminAuthorizer).
        new(AccountError.Forbidden, 23, 403, "forbidden"),
        new(AccountError.StorageFailed, 30, 500, "storage-failed"),
    ];

    private static readonly Dictionary<AccountError, Entry> ByError = Entries.ToDictionary(e => e.Error);

    public static Entry For(AccountError error) => ByError[error];

    public static int ExitCode(this AccountException e) => For(e.Error).ExitCode;

    public static int HttpStatus(this AccountException e) => For(e.Error).HttpStatus;
}
