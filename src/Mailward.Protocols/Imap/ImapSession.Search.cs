// SEARCH and UID SEARCH (RFC 9051 §6.4.4): the search engine (Imap/Search) is not wired in yet,
// so the command is refused honestly rather than answered wrongly.
namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    private Task<bool> SearchAsync(string tag, IReadOnlyList<ImapToken> args, bool uid, CancellationToken ct) =>
        Task.FromResult(No(tag, "[CANNOT] SEARCH is not available yet"));
}
