// The account store cannot be reached now: a connection refused or lost, the server restarting or
// out of connections (PostgreSQL; SQLite is a local file and never raises it). A temporary failure
// by definition: callers answer with a temporary reply (RCPT 451 4.3.0, AUTH 454 4.7.0, POP3
// [SYS/TEMP], IMAP [UNAVAILABLE]) or defer a delivery, and nothing is refused or bounced for it.
namespace Mailward.Core.Accounts;

public sealed class AccountStoreUnavailableException(string message, Exception? inner = null)
    : Exception($"account store unavailable: {message}", inner);
