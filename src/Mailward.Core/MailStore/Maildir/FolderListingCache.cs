// The last clean listing of each folder, kept so that a SELECT or a sync of a folder nobody
// changed costs a few stat calls instead of reading cur/, the UID list and the mod-sequence log
// again (Dovecot keeps an index for this). docs/mail-store.md "Listing cache" says when it is trusted.
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore.Maildir;

/// <summary>Every file and folder whose change a listing depends on; any change moves one of them.</summary>
internal readonly record struct FolderStamp(ChangeStamp? Cur, ChangeStamp? New, ChangeStamp? UidList, ChangeStamp? Log, ChangeStamp? Keywords)
{
    /// <summary>
    /// A stamp is trusted only when the folders' times are older than this: file times are coarse
    /// (a kernel tick, a second on some network file systems), so two changes within one tick look
    /// alike, but a change made after a settled time always shows as a different time. The three
    /// files need no settling: only the guard's holder writes them, each write either grows the
    /// file (the log) or replaces it (a new inode), and each follows a change of cur/ or new/.
    /// </summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The stamps of the folder's five names: one walk of its path (an O_PATH descriptor), then a
    /// statx(2) of each name relative to it. Five walks of the whole path were most of the time of a
    /// SELECT of a folder whose listing is kept. A folder that is not there has no stamps.
    /// </summary>
    public static FolderStamp Take(string folder)
    {
        using var dir = Libc.TryOpenFolderPath(folder);
        if (dir is null)
            return default;
        return new(
            Libc.Stamp(dir, "cur"),
            Libc.Stamp(dir, "new"),
            Libc.Stamp(dir, Maildir.UidList.FileName),
            Libc.Stamp(dir, ModSeqLog.FileName),
            Libc.Stamp(dir, Maildir.Keywords.FileName));
    }

    public bool SettledAt(DateTimeOffset now)
    {
        var limit = (now - Settle).ToUnixTimeMilliseconds() * 1_000_000;
        return Settled(Cur) && Settled(New);
        bool Settled(ChangeStamp? s) => s is not { } t || t.ChangedNs < limit && t.ModifiedNs < limit;
    }
}

/// <summary>One folder's listing as a clean sync read it. Shared: readers copy what they change.</summary>
internal sealed record FolderListing(
    FolderStamp Stamp, List<MailboxEntry> Entries, Dictionary<uint, string> Names, uint UidValidity, uint UidNext, ModSeqLog Log)
{
    private EntriesSummary? _summary;

    /// <summary>
    /// For a listing taken before its folder's times settled: the owner's published-change number
    /// when the sync that made it began. It answers only while that number stands, for
    /// <see cref="FolderListingCache.ProvisionalLife"/>, at the same stamps (docs/mail-store.md "A wave of syncs").
    /// </summary>
    public long? ProvisionalGeneration { get; init; }

    /// <summary>When it was taken (TimeProvider timestamp), for a provisional listing's age.</summary>
    public long TakenAt { get; init; }

    /// <summary>Its keywords and first unseen message, found at the first SELECT that asks (two racing threads find the same).</summary>
    public EntriesSummary Summary => _summary ??= EntriesSummary.Of(Entries);

    /// <summary>
    /// Whether it still tells what the folder holds at <paramref name="stamp"/>: taken at exactly that
    /// stamp, and a provisional one only while the owner's <paramref name="generation"/> is the one it
    /// was made under and it is younger than <see cref="FolderListingCache.ProvisionalLife"/>.
    /// </summary>
    public bool AnswersAt(FolderStamp stamp, long? generation, TimeProvider time) =>
        Stamp == stamp && (ProvisionalGeneration is not { } made
            || made == generation && time.GetElapsedTime(TakenAt) < FolderListingCache.ProvisionalLife);
}

/// <summary>
/// Listings of folders, each charged its messages plus <see cref="FolderCharge"/>, up to a total of
/// <c>maxMessages</c> (MailStore:ListingCacheMessages); the least recently used goes first. With
/// <c>watch</c>, each big kept listing's folder is watched, and a listing a stamp confirmed answers
/// unstamped while no change is seen (docs/mail-store.md "Watched folders").
/// </summary>
internal sealed class FolderListingCache(int maxMessages, bool watch = false)
{
    /// <summary>
    /// What a listing costs beyond its messages, in messages (its folder's name, objects and up to three
    /// watches, about 4 KiB): so an empty folder counts too, and the budget bounds how many are kept.
    /// </summary>
    public const int FolderCharge = 16;

    /// <summary>
    /// Only folders this big are watched: each watch pins its folder's inode in the kernel, and a
    /// small folder's stamp (seven system calls) is a small part of its sync, so the watches stay
    /// as few as the big folders the budget holds (500 by default: 1,500 watches).
    /// </summary>
    public const int WatchMinMessages = 1000;

    /// <summary>How long a provisional listing answers: what another program's same-tick change may be shown late by.</summary>
    public static readonly TimeSpan ProvisionalLife = TimeSpan.FromSeconds(1);

    /// <summary>How long a confirmation stands: what a change no event reports (above the folder) may be shown late by.</summary>
    public static readonly TimeSpan WatchTrust = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, Held> _listings = new(StringComparer.Ordinal);
    private readonly Lazy<FolderWatch?> _watch = new(() => watch ? FolderWatch.TryCreate() : null);
    private readonly LinkedList<string> _recency = new(); // least recently used first
    private long _messages;

    /// <summary>A kept listing, its place in the order of use, what it counts against the budget, its folder's watch and the change count a stamp last confirmed it at.</summary>
    private sealed class Held(FolderListing listing, FolderWatch.Folder? watched, LinkedListNode<string> place)
    {
        public FolderListing Listing { get; } = listing;
        public FolderWatch.Folder? Watched { get; } = watched;
        public LinkedListNode<string> Place { get; } = place;
        public long Charge { get; } = listing.Entries.Count + FolderCharge;
        public long? ConfirmedChanges { get; set; }
        public long ConfirmedTime { get; set; } // TimeProvider timestamp
    }

    /// <summary>A folder's change count before a stamp is taken, to confirm the listing that stamp finds.</summary>
    public readonly record struct WatchMark(FolderWatch.Folder Folder, long Changes);

    /// <summary>Syncs answered from a listing (for tests and the curious).</summary>
    public long Hits { get; private set; }

    /// <summary>Of those, the ones answered without a stamp because no change was seen.</summary>
    public long UnstampedHits { get; private set; }

    /// <summary>The inotify watches held for kept listings' folders.</summary>
    public int Watches
    {
        get
        {
            lock (_listings)
                return _watch.IsValueCreated ? _watch.Value?.Count ?? 0 : 0;
        }
    }

    /// <summary>
    /// A settled listing of <paramref name="folder"/> whose watch has seen no change since a stamp
    /// confirmed it less than <see cref="WatchTrust"/> ago; else null, with the mark to take before stamping.
    /// </summary>
    public FolderListing? FindUnchanged(string folder, TimeProvider time, out WatchMark? mark)
    {
        mark = null;
        if (!watch)
            return null;
        lock (_listings)
        {
            if (!_listings.TryGetValue(folder, out var held) || held.Watched is not { Lost: false } watched || _watch.Value is not { } w)
                return null;
            w.Drain();
            if (held.ConfirmedChanges == watched.Changes && !watched.Lost && time.GetElapsedTime(held.ConfirmedTime) < WatchTrust)
            {
                Used(held);
                Hits++;
                UnstampedHits++;
                return held.Listing;
            }
            if (!watched.Lost)
                mark = new WatchMark(watched, watched.Changes);
            return null;
        }
    }

    /// <summary>
    /// The listing of <paramref name="folder"/> when it answers at this stamp (<see cref="FolderListing.AnswersAt"/>).
    /// A settled one found with a <paramref name="mark"/> of its folder's watch is confirmed at it.
    /// </summary>
    public FolderListing? Find(string folder, FolderStamp stamp, long? generation = null, TimeProvider? time = null, WatchMark? mark = null)
    {
        time ??= TimeProvider.System;
        lock (_listings)
        {
            if (!_listings.TryGetValue(folder, out var held))
                return null;
            var listing = held.Listing;
            if (!listing.AnswersAt(stamp, generation, time))
            {
                Remove(folder, held);
                return null;
            }
            Used(held);
            if (mark is { } m && ReferenceEquals(m.Folder, held.Watched) && listing.ProvisionalGeneration is null)
                (held.ConfirmedChanges, held.ConfirmedTime) = (m.Changes, time.GetTimestamp());
            Hits++;
            return listing;
        }
    }

    public void Keep(string folder, FolderListing listing)
    {
        var charge = listing.Entries.Count + FolderCharge;
        if (charge > maxMessages)
            return;
        lock (_listings)
        {
            FolderWatch.Folder? watched = null;
            if (_listings.TryGetValue(folder, out var old))
            {
                // The same folder: its watch goes on (a new listing is confirmed anew).
                Forget(folder, old);
                watched = old.Watched is { Lost: false } ? old.Watched : null;
                if (watched is null && old.Watched is { } lost)
                    _watch.Value!.Remove(lost);
            }
            while (_messages + charge > maxMessages && _recency.First is { } oldest)
                Remove(oldest.Value, _listings[oldest.Value]);
            if (watched is null && !listing.ProvisionalGeneration.HasValue && listing.Entries.Count >= WatchMinMessages && _watch.Value is { } w)
                watched = w.TryAdd(folder);
            _listings[folder] = new Held(listing, watched, _recency.AddLast(folder));
            _messages += charge;
        }
    }

    private void Used(Held held)
    {
        _recency.Remove(held.Place);
        _recency.AddLast(held.Place);
    }

    private void Remove(string folder, Held held)
    {
        Forget(folder, held);
        if (held.Watched is { } watched)
            _watch.Value!.Remove(watched);
    }

    /// <summary>Takes the listing out of the cache; its watch is the caller's to keep or end.</summary>
    private void Forget(string folder, Held held)
    {
        _listings.Remove(folder);
        _recency.Remove(held.Place);
        _messages -= held.Charge;
    }
}
