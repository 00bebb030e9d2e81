// The listing cache (docs/mail-store.md "Listing cache"): a big folder nobody changed is answered
// from its last clean listing, and every kind of change — delivery, a flag change or an expunge by
// another session, a rename by another program — is seen at once, with mod-sequences and VANISHED
// history intact; a session's own changes never leak into the listing others start from. A wave of
// syncs after a published change shares one provisional listing.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class FolderListingCacheTests() : ListedFolderTests(Count)
{
    private const int Count = 1_010; // a big folder, whose reading costs what the cache saves

    [Fact]
    public async Task An_unchanged_folder_is_answered_from_its_listing_with_the_same_entries()
    {
        using var first = await SettledAsync();
        var hits = Store.Listings.Hits;
        using var second = await Store.OpenAsync(Owner);
        Assert.Equal(hits + 1, Store.Listings.Hits);
        Assert.Equal(first.Entries, second.Entries);
        Assert.Equal(first.UidValidity, second.UidValidity);
        Assert.Equal(first.UidNext, second.UidNext);
        Assert.Equal(first.HighestModSeq, second.HighestModSeq);
        Assert.False((await second.SyncAsync()).Any);
    }

    [Fact]
    public async Task A_delivery_is_seen_by_the_next_sync_and_open()
    {
        using var box = await SettledAsync();
        using (var body = new MemoryStream(Encoding.ASCII.GetBytes("Subject: new\r\n\r\nnew\r\n")))
            MaildirWriter.Deliver(Maildir, "1800000000.Mnew", "mail.test", "s@remote.test", "joe@hosted.test", body);
        var changes = await box.SyncAsync();
        var added = Assert.Single(changes.Added);
        Assert.Equal(box.UidNext - 1, added.Uid);
        using var again = await Store.OpenAsync(Owner);
        Assert.Equal(Count + 1, again.Entries.Count);
    }

    [Fact]
    public async Task Another_sessions_flag_change_and_expunge_are_seen_and_its_own_change_does_not_leak_into_the_listing()
    {
        using var watcher = await SettledAsync();
        using var writer = await Store.OpenAsync(Owner); // both share the listing now
        Assert.True(writer.EntriesFrozen); // a SELECT may hold them without a copy
        Assert.Same(watcher.Entries, writer.Entries);
        var summary = writer.Summary();
        Assert.Same(summary, watcher.Summary()); // found once for the listing
        Assert.Equal((1, 0), (summary.FirstUnseen, summary.Keywords.Count));
        var before = watcher.HighestModSeq;
        var stored = await writer.StoreAsync([1u], new FlagChange(FlagChangeMode.Add, MessageFlags.Seen, ["$Work"]));
        Assert.Single(stored.Changed);
        Assert.False(writer.EntriesFrozen); // its own copy now
        Assert.Equal(2, writer.Summary().FirstUnseen);
        Assert.Equal(["$Work"], writer.Summary().Keywords);
        Assert.Equal(MessageFlags.None, watcher.Entries[0].Flags); // the shared entries were not changed under the watcher

        var changes = await watcher.SyncAsync();
        var flagged = Assert.Single(changes.FlagsChanged);
        Assert.Equal((1u, MessageFlags.Seen), (flagged.Uid, flagged.Flags));
        Assert.False(watcher.EntriesFrozen); // read from the folder, not from a listing
        Assert.True(watcher.HighestModSeq > before);

        Assert.Equal(2, await writer.ExpungeAsync([2u, 3u]));
        changes = await watcher.SyncAsync();
        Assert.Equal([2u, 3u], changes.Expunged.Order());

        // Settled again: a fresh open from the new listing still tells QRESYNC what went.
        await Task.Delay(FolderStamp.Settle + TimeSpan.FromMilliseconds(200));
        (await Store.OpenAsync(Owner)).Dispose();
        var hits = Store.Listings.Hits;
        using var fresh = await Store.OpenAsync(Owner);
        Assert.Equal(hits + 1, Store.Listings.Hits);
        Assert.Equal(Count - 2, fresh.Entries.Count);
        Assert.Equal(MessageFlags.Seen, fresh.Entries[0].Flags);
        Assert.Equal([new UidRange(2, 3)], fresh.ExpungedSince(before));
    }

    [Fact]
    public async Task A_rename_by_another_program_in_the_same_second_is_seen()
    {
        using var box = await SettledAsync();
        var file = Directory.GetFiles(Cur).Order(StringComparer.Ordinal).First();
        File.Move(file, file + "F"); // another program flags it (Maildir info ":2,F")
        var changes = await box.SyncAsync();
        Assert.Equal(MessageFlags.Flagged, Assert.Single(changes.FlagsChanged).Flags);
    }

    [Fact]
    public async Task A_first_open_that_records_the_uid_list_of_a_settled_folder_is_kept()
    {
        await Task.Delay(FolderStamp.Settle + TimeSpan.FromMilliseconds(200)); // cur/ written long enough ago
        using var first = await Store.OpenAsync(Owner); // gives every file its UID (writes the UID list and log)
        var hits = Store.Listings.Hits;
        using var second = await Store.OpenAsync(Owner);
        Assert.Equal(hits + 1, Store.Listings.Hits);
        Assert.Equal(first.Entries, second.Entries);
        Assert.Equal(first.HighestModSeq, second.HighestModSeq);
    }

    [Fact]
    public async Task A_folder_changed_within_the_settle_time_is_not_kept()
    {
        // This store has no event hub, so it keeps no provisional listing either (the wave test below has one).
        (await Store.OpenAsync(Owner)).Dispose(); // cur/ was filled just now: not settled
        var hits = Store.Listings.Hits;
        using var box = await Store.OpenAsync(Owner);
        using var again = await Store.OpenAsync(Owner);
        Assert.Equal(hits, Store.Listings.Hits);
        Assert.Equal(box.Entries, again.Entries);
    }

    [Fact]
    public async Task A_wave_of_syncs_shares_a_provisional_listing_until_a_change_is_published_or_a_second_passes()
    {
        var events = new MailboxEvents();
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var store = new MaildirStore(Layout, "node-a", "mail.test", time, events);
        using var first = await store.OpenAsync(Owner); // cur/ filled just now: not settled, kept as provisional
        var hits = store.Listings.Hits;
        using var second = await store.OpenAsync(Owner);
        Assert.Equal(hits + 1, store.Listings.Hits);
        Assert.Equal(first.Entries, second.Entries);

        // Mail delivered by this server: in new/, then published, so no session is answered from before it.
        File.WriteAllText(Path.Combine(Maildir, "new", "1800000000.Mnew.mail.test,S=20"), "Subject: new\r\n\r\nbody\r\n");
        events.Publish(new MailboxChange(Owner.Address, "INBOX", MailboxChangeKind.Added));
        var changes = await second.SyncAsync();
        Assert.Equal(hits + 1, store.Listings.Hits);
        Assert.Equal(Count + 1u, Assert.Single(changes.Added).Uid);
        var woken = await first.SyncAsync(); // the next session of the wave: answered from the listing just made
        Assert.Equal(hits + 2, store.Listings.Hits);
        Assert.Equal(Count + 1u, Assert.Single(woken.Added).Uid);

        // A second later it answers no more: the folder is read again.
        time.Advance(FolderListingCache.ProvisionalLife);
        using var third = await store.OpenAsync(Owner);
        Assert.Equal(hits + 2, store.Listings.Hits);
        Assert.Equal(Count + 1, third.Entries.Count);
    }

    /// <summary>A settled listing kept (its folder watched from then on), confirmed by the next open's stamp: the open after that is answered unstamped.</summary>
    private async Task<IMailbox> ConfirmedAsync(MaildirStore store)
    {
        (await store.OpenAsync(Owner)).Dispose();
        await Task.Delay(FolderStamp.Settle + TimeSpan.FromMilliseconds(200));
        (await store.OpenAsync(Owner)).Dispose(); // kept: the watch begins
        (await store.OpenAsync(Owner)).Dispose(); // stamped, found and confirmed
        var unstamped = store.Listings.UnstampedHits;
        var box = await store.OpenAsync(Owner);
        Assert.Equal(unstamped + 1, store.Listings.UnstampedHits);
        Assert.Equal(3, store.Listings.Watches); // the folder, cur/ and new/
        return box;
    }

    [Theory]
    [InlineData("a delivery into new/")]
    [InlineData("a flag added by a rename in cur/")]
    [InlineData("a file deleted from cur/")]
    [InlineData("a file made beside cur/")]
    public async Task A_watched_folder_answers_unstamped_until_another_program_changes_it_and_then_the_change_is_seen_at_once(string change)
    {
        using var box = await ConfirmedAsync(Store);
        Assert.False((await box.SyncAsync()).Any); // a NOOP: unstamped too
        var unstamped = Store.Listings.UnstampedHits;
        var first = Directory.GetFiles(Cur).Order(StringComparer.Ordinal).First();
        switch (change)
        {
            case "a delivery into new/":
                File.WriteAllText(Path.Combine(Maildir, "tmp", "1800000000.Mnew.other,S=9"), "x: y\r\n\r\n\r\n");
                File.Move(Path.Combine(Maildir, "tmp", "1800000000.Mnew.other,S=9"), Path.Combine(Maildir, "new", "1800000000.Mnew.other,S=9"));
                break;
            case "a flag added by a rename in cur/":
                File.Move(first, first + "F");
                break;
            case "a file deleted from cur/":
                File.Delete(first);
                break;
            default:
                File.WriteAllText(Path.Combine(Maildir, "courierimapkeywords.tmp"), "");
                break;
        }
        // Within the same clock tick as the confirmation, and without any published change: only the watch can tell.
        var changes = await box.SyncAsync();
        Assert.Equal(unstamped, Store.Listings.UnstampedHits);
        switch (change)
        {
            case "a delivery into new/":
                Assert.Equal(Count + 1u, Assert.Single(changes.Added).Uid);
                break;
            case "a flag added by a rename in cur/":
                Assert.Equal(MessageFlags.Flagged, Assert.Single(changes.FlagsChanged).Flags);
                break;
            case "a file deleted from cur/":
                Assert.Single(changes.Expunged);
                Assert.Equal(Count - 1, box.Entries.Count);
                break;
            default:
                Assert.False(changes.Any);
                break;
        }
    }

    [Fact]
    public async Task When_the_kernel_drops_events_every_watched_folder_is_stamped_again()
    {
        // A second big folder, watched beside INBOX by the same inotify instance.
        var archive = Path.Combine(Maildir, ".Archive");
        foreach (var sub in new[] { "tmp", "new", "cur" })
            Directory.CreateDirectory(Path.Combine(archive, sub));
        for (var i = 0; i < Count; i++)
            File.WriteAllText(Path.Combine(archive, "cur", $"{1_700_000_000 + i}.M{i}P2.old,S=20:2,"), $"Subject: {i}\r\n\r\nbody\r\n");
        // Time stands still: the flood below takes longer than a confirmation stands.
        var store = new MaildirStore(Layout, "node-a", "mail.test", new ManualTimeProvider(DateTimeOffset.UtcNow));
        async Task OpenBothAsync()
        {
            (await store.OpenAsync(Owner)).Dispose();
            (await store.OpenAsync(Owner, "Archive")).Dispose();
        }
        await OpenBothAsync(); // UID lists recorded
        await Task.Delay(FolderStamp.Settle + TimeSpan.FromMilliseconds(200));
        await OpenBothAsync(); // kept and watched
        await OpenBothAsync(); // confirmed
        var unstamped = store.Listings.UnstampedHits;
        using var box = await store.OpenAsync(Owner, "Archive");
        Assert.Equal(unstamped + 1, store.Listings.UnstampedHits);
        Assert.Equal(6, store.Listings.Watches);

        // INBOX's folder fills the kernel's queue (two events a name: made, removed), so the Archive's
        // one change that follows is dropped; only the overflow event tells of it.
        var max = int.Parse(File.ReadAllText("/proc/sys/fs/inotify/max_queued_events").Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var flood = Path.Combine(Maildir, "flood");
        for (var i = 0; i < max / 2 + 100; i++)
        {
            File.Create(flood).Dispose();
            File.Delete(flood);
        }
        var first = Directory.GetFiles(Path.Combine(archive, "cur")).Order(StringComparer.Ordinal).First();
        File.Move(first, first + "F");
        var changes = await box.SyncAsync();
        Assert.Equal(unstamped + 1, store.Listings.UnstampedHits);
        Assert.Equal(MessageFlags.Flagged, Assert.Single(changes.FlagsChanged).Flags);
    }

    [Fact]
    public async Task A_change_above_the_watched_folder_is_seen_once_the_confirmation_is_a_second_old()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var store = new MaildirStore(Layout, "node-a", "mail.test", time);
        using var box = await ConfirmedAsync(store);
        // The user's Maildir replaced by a rename of its parent: the old folders' watches see nothing.
        var user = Path.GetDirectoryName(Maildir)!;
        Directory.Move(user, user + ".old");
        CopyTree(user + ".old", user);
        var first = Directory.GetFiles(Cur).Order(StringComparer.Ordinal).First();
        File.Move(first, first + "S");
        Assert.False((await box.SyncAsync()).Any); // within the second: the listing still answers
        time.Advance(FolderListingCache.WatchTrust);
        var changes = await box.SyncAsync();
        Assert.Equal(MessageFlags.Seen, Assert.Single(changes.FlagsChanged).Flags);

        static void CopyTree(string from, string to)
        {
            Directory.CreateDirectory(to);
            foreach (var f in Directory.GetFiles(from))
                File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
            foreach (var d in Directory.GetDirectories(from))
                CopyTree(d, Path.Combine(to, Path.GetFileName(d)));
        }
    }

    [Fact]
    public void Watches_end_with_their_listings_and_a_switched_off_cache_holds_none()
    {
        using var dirs = new TempFolder();
        string Folder(string name)
        {
            var path = Path.Combine(dirs.Path, name);
            Directory.CreateDirectory(Path.Combine(path, "cur"));
            Directory.CreateDirectory(Path.Combine(path, "new"));
            return path;
        }
        var cache = new FolderListingCache(1000 + FolderListingCache.FolderCharge, watch: true); // room for one
        cache.Keep(Folder("a"), Listing(1000));
        Assert.Equal(3, cache.Watches);
        cache.Keep(Folder("a"), Listing(1000)); // the same folder again: the same watches
        Assert.Equal(3, cache.Watches);
        cache.Keep(Folder("b"), Listing(1000)); // a's listing leaves the cache, and its watches with it
        Assert.Equal(3, cache.Watches);
        Assert.Null(cache.Find(Path.Combine(dirs.Path, "b"), FolderStamp.Take(Path.Combine(dirs.Path, "b")))); // a stale listing leaves too
        Assert.Equal(0, cache.Watches);

        var off = new FolderListingCache(1000 + FolderListingCache.FolderCharge, watch: false);
        off.Keep(Folder("c"), Listing(1000));
        Assert.Equal(0, off.Watches);
        Assert.Null(off.FindUnchanged(Path.Combine(dirs.Path, "c"), TimeProvider.System, out var mark));
        Assert.Null(mark);
    }

    [Fact]
    public void A_stamp_taken_through_the_folders_descriptor_is_the_stamp_of_each_path()
    {
        var stamp = FolderStamp.Take(Maildir);
        Assert.Equal(Mailward.Core.Posix.Libc.Stamp(Cur), stamp.Cur);
        Assert.Equal(Mailward.Core.Posix.Libc.Stamp(Path.Combine(Maildir, "new")), stamp.New);
        Assert.NotNull(stamp.Cur);
        Assert.Null(stamp.Keywords); // no keywords file: no stamp, no error
        Assert.Equal(default, FolderStamp.Take(Path.Combine(Maildir, "no-such-folder")));
        Assert.Equal(default, FolderStamp.Take(Path.Combine(Cur, $"{1_700_000_000}.M0P1.old,S=20:2,"))); // a file, not a folder
    }

    [Fact]
    public void The_cache_keeps_at_most_its_budget_and_drops_the_least_recently_used()
    {
        const int n = 1000, charge = n + FolderListingCache.FolderCharge;
        var cache = new FolderListingCache(2 * charge);
        cache.Keep("/a", Listing(n));
        cache.Keep("/b", Listing(n));
        Assert.NotNull(cache.Find("/a", default)); // /a used last
        cache.Keep("/c", Listing(n));
        Assert.Null(cache.Find("/b", default));
        Assert.NotNull(cache.Find("/c", default));
        Assert.NotNull(cache.Find("/a", default)); // /c the least recent now
        cache.Keep("/empty", Listing(0)); // an empty folder counts its charge: /c makes room
        Assert.NotNull(cache.Find("/empty", default));
        Assert.Null(cache.Find("/c", default));
        cache.Keep("/huge", Listing(3 * n));
        Assert.Null(cache.Find("/huge", default)); // above the whole budget
        Assert.NotNull(cache.Find("/a", default));
    }

    [Fact]
    public void Many_small_folders_are_kept_as_the_budget_allows_and_the_oldest_go_first()
    {
        var cache = new FolderListingCache(100 * (10 + FolderListingCache.FolderCharge));
        for (var i = 0; i < 10_000; i++)
            cache.Keep($"/f{i}", Listing(10));
        Assert.Null(cache.Find("/f9899", default));
        for (var i = 9_900; i < 10_000; i++)
            Assert.NotNull(cache.Find($"/f{i}", default));
    }

    [Fact]
    public void A_small_folders_listing_is_kept_without_a_watch()
    {
        using var dirs = new TempFolder();
        var path = Path.Combine(dirs.Path, "small");
        Directory.CreateDirectory(Path.Combine(path, "cur"));
        Directory.CreateDirectory(Path.Combine(path, "new"));
        var cache = new FolderListingCache(2 * FolderListingCache.WatchMinMessages, watch: true);
        cache.Keep(path, Listing(FolderListingCache.WatchMinMessages - 1));
        Assert.NotNull(cache.Find(path, default));
        Assert.Equal(0, cache.Watches);
        cache.Keep(path, Listing(FolderListingCache.WatchMinMessages / 2)); // kept anew, still unwatched
        Assert.Equal(0, cache.Watches);
    }

    private static FolderListing Listing(int n) =>
        new(default, [.. Enumerable.Range(1, n).Select(i => new MailboxEntry((uint)i, 0, [], 1, 1, default, ""))], [], 1, 1, new ModSeqLog("/nonexistent"));
}
