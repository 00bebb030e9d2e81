// With the listing cache off (or after it let a folder go) a mailbox still answers its own next sync
// from its last clean listing when nothing moved (docs/mail-store.md "Listing cache"): a NOOP or an
// IDLE poll of a 500-message INBOX costs a stamp, not a read of cur/. Every kind of change by someone
// else is still seen at the next sync.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class OwnListingTests() : ListedFolderTests(Count, new MaildirStoreOptions { ListingCacheMessages = 0 })
{
    private const int Count = 20;

    [Fact]
    public async Task An_unchanged_folder_answers_its_mailboxs_next_syncs_from_its_own_listing()
    {
        using var box = await SettledAsync();
        var (hits, cacheHits) = (Store.OwnListingHits, Store.Listings.Hits);
        var entries = box.Entries;
        Assert.False((await box.SyncAsync()).Any);
        Assert.False((await box.SyncAsync()).Any);
        Assert.Equal(hits + 2, Store.OwnListingHits);
        Assert.Equal(cacheHits, Store.Listings.Hits); // the cache is off
        Assert.Same(entries, box.Entries);
        Assert.Equal(Count, box.Entries.Count);
    }

    [Fact]
    public async Task A_delivery_a_flag_change_and_an_expunge_by_another_session_are_seen_after_a_reuse()
    {
        using var box = await SettledAsync();
        using var other = await SettledAsync();
        Assert.False((await box.SyncAsync()).Any);
        var hits = Store.OwnListingHits;
        Assert.True(hits > 0);

        var stored = await other.StoreAsync([1u], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen, []));
        Assert.Single(stored.Changed);
        Assert.Equal(MessageFlags.None, box.Entries[0].Flags); // the other's change did not reach into this listing
        var flagged = Assert.Single((await box.SyncAsync()).FlagsChanged);
        Assert.Equal((1u, MessageFlags.Seen), (flagged.Uid, flagged.Flags));

        Assert.Equal(2, await other.ExpungeAsync([2u, 3u]));
        Assert.Equal([2u, 3u], (await box.SyncAsync()).Expunged.Order());

        using (var body = new MemoryStream(Encoding.ASCII.GetBytes("Subject: new\r\n\r\nnew\r\n")))
            MaildirWriter.Deliver(Maildir, "1800000000.Mnew", "mail.test", "s@remote.test", "joe@hosted.test", body);
        var added = Assert.Single((await box.SyncAsync()).Added);
        Assert.Equal(box.UidNext - 1, added.Uid);
        Assert.Equal(Count - 1, box.Entries.Count);
    }

    [Fact]
    public async Task A_rename_by_another_program_in_the_same_second_is_seen()
    {
        using var box = await SettledAsync();
        Assert.False((await box.SyncAsync()).Any); // reused
        var file = Directory.GetFiles(Cur).Order(StringComparer.Ordinal).First();
        File.Move(file, file + "F"); // another program flags it (Maildir info ":2,F")
        Assert.Equal(MessageFlags.Flagged, Assert.Single((await box.SyncAsync()).FlagsChanged).Flags);
    }

    [Fact]
    public async Task The_mailboxs_own_change_drops_its_listing_and_is_not_reported_back()
    {
        using var box = await SettledAsync();
        await box.StoreAsync([4u], new FlagChange(FlagChangeMode.Add, MessageFlags.Flagged, ["$Work"]));
        Assert.False(box.EntriesFrozen);
        var hits = Store.OwnListingHits;
        Assert.False((await box.SyncAsync()).Any); // read again (the folder moved), nothing new to tell
        Assert.Equal(hits, Store.OwnListingHits);
        Assert.Equal(MessageFlags.Flagged, box.Entries[3].Flags);
        Assert.Equal(["$Work"], box.Entries[3].Keywords);
    }

    [Fact]
    public async Task A_folder_changed_within_the_settle_time_is_read_again_at_each_sync()
    {
        // This store has no event hub, so no provisional listing either: a same-tick change by another program could hide behind one.
        using var box = await Store.OpenAsync(Owner); // cur/ was filled just now: not settled
        var hits = Store.OwnListingHits;
        Assert.False((await box.SyncAsync()).Any);
        Assert.False((await box.SyncAsync()).Any);
        Assert.Equal(hits, Store.OwnListingHits);
    }
}
