// One Maildir folder as an IMailbox: new/ mail moves to cur/ (qmail-pop3d and Dovecot do so), the
// UID list gives every file a UID (docs/mail-store.md), flags and keywords live in the names, sizes
// come from the names (,S= and ,W=) so listing needs no file reads. A sync reads the UID list and
// writes it only when a file has no UID yet. Mod-sequences, STORE and EXPUNGE are in
// MaildirMailbox.ModSeq.cs.
using System.IO.Enumeration;
using System.Text;
using Mailward.Core.MailStore.Locks;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Core.MailStore.Maildir;

public sealed partial class MaildirMailbox : IMailbox
{
    private readonly MaildirStore _store;
    private readonly string _path;
    private readonly string _maildir; // the owner's Maildir (INBOX), where maildirsize lives
    private List<MailboxEntry> _entries = [];
    private List<MailboxEntry> _reported = []; // the entries as the last SyncAsync reported them
    private Dictionary<uint, string> _files = NoFiles;
    private Keywords _keywords = new();
    private uint _lastValidity;
    private FolderListing? _listing; // the shared listing this object's entries came from, if any

    internal MaildirMailbox(MaildirStore store, MailboxOwner owner, string folder, string path, string maildir)
    {
        _store = store;
        Owner = owner;
        Folder = folder;
        _path = path;
        _maildir = maildir;
        _log = new ModSeqLog(path);
        _structures = StructureCache.Acquire(path, store.StructureLimits);
    }

    private readonly StructureCache _structures;
    private volatile bool _disposed; // read by a read-ahead's thread too

    public MailboxOwner Owner { get; }
    public string Folder { get; }
    public uint UidValidity { get; private set; }
    public uint UidNext { get; private set; }
    public IReadOnlyList<MailboxEntry> Entries => _entries;

    // OwnListing copies the shared listing's entries before this object changes any.
    public bool EntriesFrozen => _listing is { } shared && ReferenceEquals(_entries, shared.Entries);

    public EntriesSummary Summary() => EntriesFrozen ? _listing!.Summary : EntriesSummary.Of(_entries);

    public Task<MailboxChanges> SyncAsync(CancellationToken ct = default) => Task.FromResult(Sync());

    /// <summary>
    /// Reads the folder again. With <paramref name="report"/> false (a sync inside an APPEND) the
    /// entries move on but what changed is kept for the next SyncAsync, so no change goes unreported.
    /// </summary>
    internal MailboxChanges Sync(bool report = true)
    {
        // A kept listing's stamp says new/ was empty and has not changed since (a listing is kept
        // only when new/ had settled after this object's kind emptied it): then new/ is not read.
        // The owner's change number is read first: a change published after it makes a provisional listing made here stale.
        var generation = _store.Generation(Owner);
        // A watched folder with no change seen since a stamp confirmed its listing is not stamped
        // again (docs/mail-store.md "Watched folders"); else the mark, taken before the stamp, lets
        // the listing that stamp finds be confirmed.
        var listing = _store.Listings.FindUnchanged(_path, _store.Time, out var mark);
        FolderStamp stamp;
        if (listing is not null)
            stamp = listing.Stamp;
        else
        {
            stamp = FolderStamp.Take(_path);
            if ((stamp.Cur is null || stamp.New is null) && Folder == "INBOX")
            {
                // A user's first open, or a Maildir someone emptied by hand: INBOX is always there.
                foreach (var sub in new[] { "tmp", "new", "cur" })
                    Directory.CreateDirectory(Path.Combine(_path, sub), MaildirStore.Private);
                stamp = FolderStamp.Take(_path);
            }
            listing = _store.Listings.Find(_path, stamp, generation, _store.Time, mark) ?? OwnListingAt(stamp, generation);
            if (listing is null)
            {
                MoveNewToCur();
                stamp = FolderStamp.Take(_path);
                listing = _store.Listings.Find(_path, stamp, generation, _store.Time) ?? OwnListingAt(stamp, generation);
            }
        }
        List<MailboxEntry> entries;
        Dictionary<uint, string> names;
        uint uidValidity, uidNext;
        if (listing is not null)
        {
            // Nothing changed since a clean sync read this folder: its listing answers (the keywords
            // file is in the stamp, so this object's keywords are current too).
            if (ReferenceEquals(listing, _listing) && report && ReferenceEquals(_reported, _entries))
                return new MailboxChanges([], [], [], false);
            // Most folders have no keywords file: the stamp says so without a failed open.
            _keywords = stamp.Keywords is null ? new Keywords() : Keywords.Read(_path);
            // Shared, not copied: OwnListing copies them before this object changes them.
            _log.CopyFrom(listing.Log);
            entries = listing.Entries;
            names = listing.Names;
            (uidValidity, uidNext) = (listing.UidValidity, listing.UidNext);
            _listing = listing;
        }
        else
        {
            // Without a UID list (a first open) the guarded sync lists cur/ itself: no listing here to throw away.
            var (list, outcome) = UidList.Read(_path);
            var files = list is null ? [] : ListCur(list.Entries.Count);
            var known = list is null ? null : UidsOf(files, list); // null: a file without a UID
            var (uids, counted) = known ?? (null!, null);
            var logOutcome = list is null ? ModSeqLog.ReadOutcome.Missing : _log.CatchUp();
            var clean = !(list is null || known is null || outcome != UidList.ReadOutcome.Ok
                || logOutcome != ModSeqLog.ReadOutcome.Ok || _log.UidValidity != list.UidValidity || _log.Damaged || ModSeqsDiffer(files, uids));
            FolderStamp after;
            if (clean)
                after = FolderStamp.Take(_path);
            else
            {
                using var guard = Guard.Take(Path.Combine(_path, UidList.GuardName));
                (files, list, uids, counted) = RecordUnderGuard();
                after = FolderStamp.Take(_path); // the UID list and log as written here: nobody else writes them while the guard is held
            }
            _keywords = Keywords.Read(_path);
            (entries, names) = Listing(files, uids, counted, list!);
            (uidValidity, uidNext) = (list!.UidValidity, list.UidNext);
            _listing = null;
            // Kept when the folders did not move during the read, and (read without writing) nothing else did either;
            // before the folders' times settle only as provisional, for the wave of syncs one change sets off.
            // The cache keeps it as its budget allows; this object holds it too, so its next sync may reuse it after the cache let it go.
            var settled = stamp.SettledAt(DateTimeOffset.UtcNow);
            if ((settled || generation is not null)
                && (clean ? after == stamp : after.Cur == stamp.Cur && after.New == stamp.New && after.Keywords == stamp.Keywords))
            {
                _listing = new FolderListing(after, entries, names, uidValidity, uidNext, _log.Clone())
                {
                    ProvisionalGeneration = settled ? null : generation,
                    TakenAt = _store.Time.GetTimestamp(),
                };
                _store.Listings.Keep(_path, _listing);
            }
        }
        var before = _reported.Count == 0 ? [] : _reported.ToDictionary(e => e.Uid);
        var validityChanged = UidValidity != 0 && uidValidity != UidValidity;
        UidValidity = _lastValidity = uidValidity;
        NoteValidity(uidValidity);
        UidNext = uidNext;
        HighestModSeq = _log.Highest;
        _entries = entries;
        _files = names;
        if (report)
            _reported = entries;
        if (validityChanged)
            return new MailboxChanges(entries, [.. before.Keys], [], true);
        if (before.Count == 0)
            return new MailboxChanges(entries, [], [], false); // a first sync: everything is new
        var added = entries.Where(e => !before.ContainsKey(e.Uid)).ToList();
        var expunged = before.Keys.Where(u => !names.ContainsKey(u)).ToList();
        var reflagged = entries.Where(e => before.TryGetValue(e.Uid, out var old) && (old.Flags != e.Flags || !old.Keywords.SequenceEqual(e.Keywords) || old.ModSeq != e.ModSeq)).ToList();
        return new MailboxChanges(added, expunged, reflagged, false);
    }

    /// <summary>
    /// This object's last clean listing (one the cache let go, or never took: it is off or the
    /// listing is bigger than it) when it answers at <paramref name="stamp"/>, by the cache's rule.
    /// A change this object makes drops it first (<see cref="OwnListing"/>).
    /// </summary>
    private FolderListing? OwnListingAt(FolderStamp stamp, long? generation)
    {
        if (_listing is not { } own || !own.AnswersAt(stamp, generation, _store.Time))
            return null;
        Interlocked.Increment(ref _store.OwnListingHits);
        return own;
    }

    /// <summary>Before this object changes its entries or names in place: its own copies, not the shared listing's.</summary>
    private void OwnListing()
    {
        if (ReferenceEquals(_files, NoFiles))
            _files = [];
        if (_listing is not { } shared)
            return;
        if (ReferenceEquals(_entries, shared.Entries))
        {
            var own = new List<MailboxEntry>(_entries);
            if (ReferenceEquals(_reported, _entries))
                _reported = own;
            _entries = own;
        }
        if (ReferenceEquals(_reported, shared.Entries))
            _reported = [.. _reported];
        if (ReferenceEquals(_files, shared.Names))
            _files = new Dictionary<uint, string>(_files);
        _listing = null;
    }

    /// <summary>The names of an empty folder's listing, shared by all of them (each idle session on one holds it): never changed.</summary>
    private static readonly Dictionary<uint, string> NoFiles = [];

    /// <summary>The entries (by UID) and file names of a listing of cur/, its files' UIDs and counted sizes (index-aligned) and its UID list.</summary>
    private (List<MailboxEntry> Entries, Dictionary<uint, string> Names) Listing(List<MaildirName> files, uint[] uids, long?[]? counted, UidList list)
    {
        var entries = new MailboxEntry[files.Count];
        var order = new uint[files.Count];
        var names = files.Count == 0 ? NoFiles : new Dictionary<uint, string>(files.Count);
        var n = 0;
        var sorted = true;
        var sizes = CountedSizes.Of(_path); // looked up once, not per file
        for (var i = 0; i < files.Count; i++)
        {
            var (f, uid) = (files[i], uids[i]);
            if (!names.TryAdd(uid, f.Name))
                continue; // two files with one key (a copy made by hand): the first counts
            // The UID list's counted size matters only for a name without ,W=.
            var w = f.VirtualSize is null ? counted?[i] : null;
            entries[n] = Entry(uid, f, w, list.Pop3Uidls.Count == 0 ? null : list.Pop3Uidls.GetValueOrDefault(f.Key), _log.Messages.TryGetValue(uid, out var m) ? m.ModSeq : _log.Highest, sizes);
            sorted &= n == 0 || order[n - 1] < uid;
            order[n++] = uid;
        }
        // Listed in directory order: put in UID order. UIDs that are exactly a run of n numbers (a
        // folder never expunged from, as at a first open) are placed by number; else sorted on the
        // UIDs themselves (no comparer per pair).
        var result = new List<MailboxEntry>(n);
        if (!sorted && n > 0 && ConsecutiveFrom(order.AsSpan(0, n)) is { } lowest)
        {
            System.Runtime.InteropServices.CollectionsMarshal.SetCount(result, n);
            var placed = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(result);
            for (var i = 0; i < n; i++)
                placed[(int)(order[i] - lowest)] = entries[i];
            return (result, names);
        }
        if (!sorted)
            Array.Sort(order, entries, 0, n);
        result.AddRange(new ArraySegment<MailboxEntry>(entries, 0, n));
        return (result, names);
    }

    /// <summary>The lowest of these distinct UIDs when they are exactly the numbers lowest..lowest+count-1, else null.</summary>
    private static uint? ConsecutiveFrom(ReadOnlySpan<uint> uids)
    {
        var (min, max) = (uint.MaxValue, uint.MinValue);
        foreach (var u in uids)
            (min, max) = (Math.Min(min, u), Math.Max(max, u));
        return (ulong)max - min + 1 == (ulong)uids.Length ? min : null; // distinct (the names dictionary saw to it), so a run
    }

    /// <summary>The highest UIDVALIDITY this process saw per folder: a new one is always above it, even within one second.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, uint> SeenValidity = new(StringComparer.Ordinal);

    private void NoteValidity(uint? validity)
    {
        if (validity is { } v)
            SeenValidity.AddOrUpdate(_path, v, (_, old) => Math.Max(old, v));
    }

    private uint NewValidity()
    {
        var now = (uint)Math.Min(uint.MaxValue, _store.Time.GetUtcNow().ToUnixTimeSeconds());
        var seen = Math.Max(_lastValidity, SeenValidity.GetValueOrDefault(_path));
        return Math.Max(now, seen + 1);
    }

    /// <summary>A file's entry; <paramref name="sizes"/>: the folder's CountedSizes, for a name without ,W= whose size the UID list does not carry.</summary>
    private MailboxEntry Entry(uint uid, MaildirName n, long? countedSize, string? keptPop3Uidl, ulong modSeq, IReadOnlyDictionary<string, long>? sizes)
    {
        var (flags, keywords) = Decode(n.Flags);
        var file = n.Size is null || n.Time is null ? new FileInfo(Path.Combine(_path, "cur", n.Name)) : null;
        var size = n.Size ?? (file!.Exists ? file.Length : 0);
        var date = n.Time is { } t ? DateTimeOffset.FromUnixTimeSeconds(t) : new DateTimeOffset(file!.LastWriteTimeUtc, TimeSpan.Zero);
        var virtualSize = n.VirtualSize ?? countedSize ?? (sizes is not null && sizes.TryGetValue(n.Key, out var kept) ? kept : null);
        return new MailboxEntry(uid, flags, keywords, size, virtualSize, date, keptPop3Uidl ?? n.Pop3Uidl) { ModSeq = modSeq };
    }

    public long VirtualSizeOf(MailboxEntry entry)
    {
        if (entry.VirtualSize is { } known)
            return known;
        if (!_files.TryGetValue(entry.Uid, out var name))
            return 0;
        var key = MaildirName.KeyOf(name);
        if (CountedSizes.Find(_path, key) is { } counted)
            return counted;
        var size = TryCountCrLfSize(Path.Combine(_path, "cur", name));
        if (size is null && Renamed(entry.Uid) is { } now)
            size = TryCountCrLfSize(Path.Combine(_path, "cur", now)); // flags changed by another session meanwhile
        if (size is not { } found)
            return 0; // expunged meanwhile
        CountedSizes.Keep(_path, key, found);
        return found;
    }

    /// <summary>new/ → cur/ with an empty info, as qmail-pop3d does at open.</summary>
    private void MoveNewToCur()
    {
        var cur = Path.Combine(_path, "cur");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_path, "new")))
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith('.'))
                continue;
            try
            {
                File.Move(file, Path.Combine(cur, name.Contains(':', StringComparison.Ordinal) ? name : name + ":2,"));
            }
            catch (FileNotFoundException)
            {
                // taken by another session or node meanwhile
            }
        }
    }

    // Every entry, hidden ones too (their names are filtered by hand), as Directory.EnumerateFiles reads them.
    private static readonly EnumerationOptions CurEntries = new() { AttributesToSkip = 0, IgnoreInaccessible = false };

    /// <summary>
    /// The files of cur/. A file renamed while the folder is read (another session changing flags)
    /// may be missed by readdir, and a missed file would look expunged: so the folder is read
    /// again while its modification time moved during the read (Dovecot rescans alike); after three
    /// busy reads the listings are merged, so a renamed file is seen under one of its names (a file
    /// deleted meanwhile may show until the next sync).
    /// </summary>
    private List<MaildirName> ListCur(int expected = 0)
    {
        var cur = Path.Combine(_path, "cur");
        var merged = new Dictionary<string, MaildirName>(StringComparer.Ordinal);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var before = Directory.GetLastWriteTimeUtc(cur);
            // Names straight from the directory entries: no full path made and cut again per file.
            // The names are gathered first and parsed into a list of their exact count: growing a
            // list of 48-byte names by doubling made 12 MB of garbage on a first open of 100,000.
            var names = new List<string>(expected + expected / 16);
            foreach (var name in new FileSystemEnumerable<string>(cur, (ref FileSystemEntry e) => e.FileName.ToString(), CurEntries)
            {
                ShouldIncludePredicate = (ref FileSystemEntry e) => !e.IsDirectory && e.FileName.Length > 0 && e.FileName[0] != '.' && !e.FileName.Contains('\n'),
            })
                names.Add(name);
            var files = new List<MaildirName>(names.Count);
            foreach (var name in names)
                files.Add(MaildirName.Parse(name));
            if (Directory.GetLastWriteTimeUtc(cur) == before)
                return files; // nothing changed during the read: a consistent listing
            foreach (var f in files)
                merged[f.Key] = f; // the latest listing's name for a key wins
        }
        return [.. merged.Values];
    }

    /// <summary>The size with CRLF line ends of a name without ,W= (counted when first asked for, then kept in the UID list); null when the file is gone.</summary>
    private static long? TryCountCrLfSize(string path)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            using var f = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long total = 0, offset = 0;
            var previous = (byte)0;
            int n;
            while ((n = RandomAccess.Read(f, buffer, offset)) > 0)
            {
                // Each LF not after a CR adds one octet (vectorized counts; a CR ending the last block counts too).
                var block = buffer.AsSpan(0, n);
                total += n + block.Count((byte)'\n') - block.Count("\r\n"u8) - (previous == (byte)'\r' && block[0] == (byte)'\n' ? 1 : 0);
                previous = block[^1];
                offset += n;
            }
            return total;
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private MailboxEntry? Find(uint uid)
    {
        // By hand: no probe entry or comparer allocated for each of a FETCH's messages.
        var entries = _entries;
        var (lo, hi) = (0, entries.Count - 1);
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            var at = entries[mid].Uid;
            if (at == uid)
                return entries[mid];
            if (at < uid)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return null;
    }

    public MessageReader? OpenMessage(uint uid) =>
        _files.TryGetValue(uid, out var name) && Find(uid) is { } entry ? OpenFile(name, entry.Size) : null;

    /// <summary>A message file of cur/ by name; null when it is gone.</summary>
    private MessageReader? OpenFile(string name, long size)
    {
        // Relative to cur/ held open: no walk of the whole path per message, and none of the flock
        // and fstat File.OpenHandle adds; O_NOFOLLOW, as no link in cur/ is one we made.
        var cur = _cur;
        if (cur is null)
        {
            try
            {
                cur = Posix.Libc.Open(Path.Combine(_path, "cur"), Posix.Libc.ORdOnly | Posix.Libc.ODirectory);
            }
            catch (IOException) when (!Directory.Exists(Path.Combine(_path, "cur")))
            {
                return null; // the folder went away
            }
            if (Interlocked.CompareExchange(ref _cur, cur, null) is { } other)
            {
                cur.Dispose();
                cur = other;
            }
            else if (_disposed)
            {
                // Opened by a read-ahead as this object was let go: not kept past its Dispose.
                Interlocked.CompareExchange(ref _cur, null, cur);
                cur.Dispose();
                return null;
            }
        }
        var handle = Posix.Libc.TryOpenAt(cur, name, Posix.Libc.ORdOnly | Posix.Libc.ONoFollow, 0, out var errno);
        return handle is not null ? new MessageReader(handle, size)
            : errno is Posix.Libc.ENoEnt or Posix.Libc.ELoop ? null // expunged meanwhile, or a link we did not make
            : throw new IOException($"open {Path.Combine(_path, "cur", name)}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
    }

    private Microsoft.Win32.SafeHandles.SafeFileHandle? _cur;

    public Task<MessageStructure?> StructureAsync(uint uid, CancellationToken ct = default)
    {
        if (!_files.TryGetValue(uid, out var name) || Find(uid) is not { } entry)
            return Task.FromResult<MessageStructure?>(null);
        return Task.FromResult(_structures.Get(MaildirName.KeyOf(name), entry.Size, () => _readAhead?.Take(uid) ?? OpenFile(name, entry.Size),
            _live ??= new(() => _files.Count, LiveKeys)));
    }

    /// <summary>Fewer messages than this are not read ahead: starting the reader costs more than it saves.</summary>
    private const int ReadAheadMinMessages = 32;

    private StructureReadAhead? _readAhead;

    public IDisposable? ReadAhead(IReadOnlyList<uint> uids)
    {
        _readAhead?.Dispose();
        _readAhead = null;
        if (uids.Count < ReadAheadMinMessages)
            return null;
        // Names and sizes taken here, on the session's thread: the reader never touches this object's state.
        var items = new StructureReadAhead.Item[uids.Count];
        var n = 0;
        foreach (var uid in uids)
            if (_files.TryGetValue(uid, out var name) && Find(uid) is { } entry)
                items[n++] = new(uid, name, entry.Size);
        Array.Resize(ref items, n); // the same array when every UID is there
        var ahead = new StructureReadAhead(items, OpenFile, _structures.Holds);
        _readAhead = ahead;
        ahead.Start();
        return new ReadAheadHandle(this, ahead);
    }

    private sealed class ReadAheadHandle(MaildirMailbox mailbox, StructureReadAhead ahead) : IDisposable
    {
        public void Dispose()
        {
            ahead.Dispose();
            if (ReferenceEquals(mailbox._readAhead, ahead))
                mailbox._readAhead = null;
        }
    }

    private StructureCache.LiveSet? _live;

    /// <summary>The keys of the folder's messages as of the last sync: what the structure cache keeps at a rewrite.</summary>
    private HashSet<string> LiveKeys() => _files.Values.Select(MaildirName.KeyOf).ToHashSet(StringComparer.Ordinal);

    public void Dispose()
    {
        if (!_disposed)
            _structures.Release(_live ??= new(() => _files.Count, LiveKeys)); // the last session of the folder writes what waits
        _disposed = true;
        _readAhead?.Dispose();
        Interlocked.Exchange(ref _cur, null)?.Dispose();
    }
}
