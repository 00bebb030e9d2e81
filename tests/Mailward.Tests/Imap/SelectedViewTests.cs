// The session's message numbers (SelectedView): the replies a sync's result turns into (EXPUNGE
// numbers right when sent, VANISHED, EXISTS, FETCH FLAGS at the numbers after the expunges), and
// sequence sets picked in order without duplicates whatever order the client gave.
using Mailward.Core.MailStore;
using Mailward.Protocols.Imap;

namespace Mailward.Tests.Imap;

public class SelectedViewTests
{
    private static MailboxEntry E(uint uid, MessageFlags flags = 0) => new(uid, flags, [], 10, 10, DateTimeOffset.UnixEpoch, "u" + uid);

    private static List<MailboxEntry> Entries(params uint[] uids) => [.. uids.Select(u => E(u))];

    [Fact]
    public void Expunges_go_from_the_highest_number_down_then_exists_then_flags()
    {
        var view = new SelectedView(Entries(1, 2, 3, 4, 5, 6));
        var now = new List<MailboxEntry> { E(1), E(3), E(4, MessageFlags.Seen), E(6), E(7), E(9) };
        Assert.Equal(["5 EXPUNGE", "2 EXPUNGE", "6 EXISTS", "3 FETCH (UID 4 FLAGS (\\Seen))"], view.Changes(now, allowExpunge: true));
        Assert.Equal(6, view.Count);
        Assert.Equal([1u, 3, 4, 6, 7, 9], Enumerable.Range(1, view.Count).Select(view.UidAt));
        Assert.Equal(0, view.SeqOf(2));
        Assert.Equal(5, view.SeqOf(7));
        Assert.Empty(view.Changes(now, allowExpunge: true));
    }

    [Fact]
    public void Without_expunges_allowed_numbers_stay_and_qresync_says_vanished()
    {
        var view = new SelectedView(Entries(1, 2, 3));
        var now = new List<MailboxEntry> { E(1), E(3, MessageFlags.Flagged), E(4) };
        Assert.Equal(["4 EXISTS", "3 FETCH (UID 3 FLAGS (\\Flagged))"], view.Changes(now, allowExpunge: false));
        Assert.Equal(2, view.SeqOf(2)); // still known to the client
        view.QResync = true;
        Assert.Equal(["VANISHED 2"], view.Changes(now, allowExpunge: true));
        Assert.Equal(3, view.Count);
        Assert.Equal(MessageFlags.Flagged, view.Known(3).Flags);
    }

    [Fact]
    public void Sets_are_picked_ascending_once()
    {
        var view = new SelectedView(Entries(10, 20, 30, 40));
        Assert.Equal([(1, 10u), (2, 20u), (3, 30u), (4, 40u)], view.Select(SequenceSet.Parse("3:4,1:2,2")!, byUid: false));
        Assert.Equal([(2, 20u), (4, 40u)], view.Select(SequenceSet.Parse("40,15:25")!, byUid: true));
        Assert.Equal([(4, 40u)], view.Select(SequenceSet.Parse("*")!, byUid: true));
        Assert.Null(view.Select(SequenceSet.Parse("5")!, byUid: false));
        Assert.Equal(1, view.FirstUnseen());
    }

    [Fact]
    public void A_frozen_list_is_held_not_copied_and_never_changed_by_the_view()
    {
        var shared = Entries(1, 2, 3, 4);
        var view = new SelectedView(shared, frozen: true);
        Assert.Empty(view.Changes(shared, allowExpunge: true)); // the same list: nothing to say
        view.Told(shared[1]); // what it already holds: no copy
        var now = new List<MailboxEntry> { E(1), E(2, MessageFlags.Seen), E(4), E(5) };
        Assert.Equal(["3 EXPUNGE", "4 EXISTS", "2 FETCH (UID 2 FLAGS (\\Seen))"], view.Changes(now, allowExpunge: true));
        view.Remove(1);
        Assert.Equal([1u, 2, 3, 4], shared.Select(e => e.Uid)); // the shared list is as it was
        Assert.All(shared, e => Assert.Equal(MessageFlags.None, e.Flags));
        Assert.Equal([2u, 4, 5], Enumerable.Range(1, view.Count).Select(view.UidAt));
    }

    [Fact]
    public void A_summary_names_the_keywords_in_use_once_and_the_first_unseen_message()
    {
        var entries = new List<MailboxEntry> { E(1, MessageFlags.Seen) with { Keywords = ["$Junk"] }, E(2, MessageFlags.Seen), E(3) with { Keywords = ["work", "$Junk"] } };
        var summary = EntriesSummary.Of(entries);
        Assert.Equal(["$Junk", "work"], summary.Keywords);
        Assert.Equal(3, summary.FirstUnseen);
        Assert.Equal(0, EntriesSummary.Of([E(1, MessageFlags.Seen)]).FirstUnseen);
    }
}
