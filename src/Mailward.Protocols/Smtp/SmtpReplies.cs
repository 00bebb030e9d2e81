// Every fixed reply in one table (design rule 8): the code, the RFC 3463 enhanced status code
// (RFC 2034 puts it on every reply), and the text. Replies that name an address are built here too.
namespace Mailward.Protocols.Smtp;

public static class SmtpReplies
{
    public const string Ok = "250 2.0.0 Ok";
    public const string SenderOk = "250 2.1.0 Ok";
    public const string RecipientOk = "250 2.1.5 Ok";
    public const string StartData = "354 End data with <CR><LF>.<CR><LF>";
    public const string ReadyForTls = "220 2.0.0 Ready to start TLS";
    public const string Bye = "221 2.0.0 Bye";
    public const string CannotVrfy = "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery";
    public const string Help = "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS";

    public const string NeedHelo = "503 5.5.1 Error: send HELO/EHLO first";
    public const string NestedMail = "503 5.5.1 Error: nested MAIL command";
    public const string NeedMail = "503 5.5.1 Error: need MAIL command";
    public const string NeedRcpt = "503 5.5.1 Error: need RCPT command";
    public const string NoValidRecipients = "554 5.5.1 Error: no valid recipients";
    public const string AlreadyTls = "503 5.5.1 Error: TLS already active";
    public const string TlsNotAvailable = "454 4.7.0 TLS not available due to local problem";
    public const string UnknownCommand = "500 5.5.2 Error: command not recognized";
    public const string LineTooLong = "500 5.5.2 Error: line too long";
    public const string NotImplemented = "502 5.5.1 Error: command not implemented";
    public const string SyntaxHelo = "501 5.5.4 Syntax: EHLO hostname";
    public const string SyntaxNoArguments = "501 5.5.4 Syntax error: no arguments allowed";
    public const string TooManyRecipients = "452 4.5.3 Error: too many recipients";
    public const string MessageTooBigAtMail = "552 5.3.4 Message size exceeds fixed limit";
    public const string MessageTooBig = "552 5.3.4 Error: message too large; discarded";
    public const string LineTooLongInData = "554 5.6.0 Error: message has a line longer than the limit; discarded";
    public const string BareLineEnd = "554 5.6.0 Error: bare <CR> or <LF> in message text (RFC 5321 2.3.8); discarded";
    public const string Loop = "554 5.4.6 Error: too many hops (Received/Delivered-To lines): mail loop; discarded";
    public const string QueueError = "451 4.3.0 Error: queue write failed; try again later";
    public const string StoreUnavailable = "451 4.3.0 Error: the account store is unavailable; try again later";
    public const string StoreUnavailableAtConnect = "421 4.3.0 Error: the account store is unavailable; try again later";
    public const string TooManyErrors = "421 4.7.0 Error: too many errors; closing connection";
    public const string TooManyConnections = "421 4.7.0 Error: too many connections; try again later";
    public const string Timeout = "421 4.4.2 Error: timeout exceeded; closing connection";
    public const string DataTooSlow = "451 4.4.2 Error: message data arrives too slowly; closing connection";
    public const string ShuttingDown = "421 4.3.2 Error: server shutting down";

    public static string Syntax(string what) => $"501 5.5.4 Syntax error: {what}";
    public static string UnsupportedParameter(string p) => $"555 5.5.4 Unsupported parameter: {p}";
    public static string Queued(string id) => $"250 2.0.0 Ok: queued as {id}";
    public static string Looping(string address) => $"554 5.4.6 Error: mail loop: the message already carries Delivered-To: {address}; discarded";
}
