// Where greylisting's state lives: the account store (docs/mail-auth.md, "Greylisting"), so that
// several nodes that share one store greylist as one server. A check is one short write transaction.
namespace Mailward.Core.Greylist;

/// <param name="Client">The client's network (an address cut to its prefix, in text).</param>
/// <param name="Sender">The envelope sender, lower case ("" for the null sender).</param>
/// <param name="Recipient">The recipient as the door keeps it (canonical for a hosted address).</param>
public sealed record GreylistTriplet(string Client, string Sender, string Recipient);

/// <param name="Passed">True: accept the recipient. False: defer it.</param>
/// <param name="Wait">When deferred: how long until a retry passes.</param>
/// <param name="Why">first (a new triplet), early (retried too soon), retried (passed now), known (passed before), allowed (the network is auto-allowed).</param>
public readonly record struct GreylistAnswer(bool Passed, TimeSpan Wait, string Why);

public interface IGreylistStore
{
    /// <summary>Looks the triplet up and records this try, as postgrey does; see GreylistOptions for the rules.</summary>
    GreylistAnswer CheckGreylist(GreylistTriplet triplet, DateTimeOffset now, GreylistOptions options);

    /// <summary>Removes at most <c>options.CleanupRows</c> rows of each kind that are past their use; returns how many went.</summary>
    int CleanGreylist(DateTimeOffset now, GreylistOptions options);
}
