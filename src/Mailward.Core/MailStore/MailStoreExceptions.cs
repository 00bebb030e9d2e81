// Refusals of the mail store that a protocol answers with a code of its own: over quota (IMAP
// NO [OVERQUOTA], RFC 9208 §4.3) and too large (NO [TOOBIG], RFC 4469 §4 / APPENDLIMIT, RFC 7889).
namespace Mailward.Core.MailStore;

/// <summary>The owner's user or domain quota would be exceeded; nothing was stored.</summary>
public sealed class MailboxOverQuotaException(string message) : IOException(message);

/// <summary>The message is larger than Imap:AppendLimitBytes; nothing was stored.</summary>
public sealed class MessageTooLargeException(string message) : IOException(message);
