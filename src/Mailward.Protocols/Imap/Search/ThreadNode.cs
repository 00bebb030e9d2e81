// One node of a THREAD answer (RFC 5256 §4): a message, or a dummy (Message null) standing for a
// parent that is missing or was merged by subject, with its children in order.
namespace Mailward.Protocols.Imap.Search;

public sealed class ThreadNode(ISearchMessage? message)
{
    public ISearchMessage? Message { get; } = message;

    public List<ThreadNode> Children { get; } = [];

    public ThreadNode? Parent { get; internal set; }

    public bool IsDummy => Message is null;
}
