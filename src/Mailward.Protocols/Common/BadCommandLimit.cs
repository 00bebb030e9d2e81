// The bad-command limit every protocol applies the same way: a session may make MaxBadCommands
// unknown, malformed or refused commands, each answered; the one after them closes the session.
namespace Mailward.Protocols.Common;

public sealed class BadCommandLimit(int max)
{
    private int _count;

    /// <summary>Counts one bad command; true when it is one past the limit and the session must close.</summary>
    public bool CountAndCheck() => ++_count > max;
}
