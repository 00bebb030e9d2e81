// The guarded half of a Maildir folder's sync, and the writes that need the guard: STORE (with
// UNCHANGEDSINCE, RFC 7162 §3.1.3) and EXPUNGE, recorded in the mod-sequence log
// (docs/mail-store.md "Mod-sequences"). Everything here runs holding mailward-uidlist.guard.
using Mailward.Core.MailStore.Locks;

namespace Mailward.Core.MailStore.Maildir;

public sealed partial class MaildirMailbox
{
    private readonly ModSeqLog _log;

    public ulong HighestModSeq { get; private set; }

    /// <summary>The highest mod-sequence this process saw per folder: a log made anew starts above it.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, ulong> SeenModSeq = new(StringComparer.Ordinal);

    private string Cur => Path.Combine(_path, "cur");

    /// <summary>True when the log does not describe these files (UIDs index-aligned): a UID without an M line, other flags, or an M line without a file.</summary>
    private bool ModSeqsDiffer(List<MaildirName> files, uint[] uidOf)
    {
        var uids = new HashSet<uint>(files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            var uid = uidOf[i];
            if (!uids.Add(uid))
                continue;
            if (!_log.Messages.TryGetValue(uid, out var m) || m.Flags != ModSeqLog.FlagsOf(files[i].Flags))
                return true;
        }
        return uids.Count != _log.Messages.Count;
    }

    /// <summary>
    /// Each file's UID in the list and, for a name without ,W=, the CRLF size the list counted
    /// (both index-aligned with <paramref name="files"/>; no array of sizes when none is counted);
    /// null when a file has no UID.
    /// </summary>
    private static (uint[] Uids, long?[]? Counted)? UidsOf(List<MaildirName> files, UidList list)
    {
        var uids = new uint[files.Count];
        long?[]? counted = null;
        for (var i = 0; i < files.Count; i++)
        {
            if (!list.Entries.TryGetValue(files[i].Key, out var e))
                return null;
            uids[i] = e.Uid;
            NoteCounted(ref counted, files, i, e.VirtualSize);
        }
        return (uids, counted);
    }

    /// <summary>A counted size for file <paramref name="i"/>, kept only for a name without ,W= (the array made at the first).</summary>
    private static void NoteCounted(ref long?[]? counted, List<MaildirName> files, int i, long? size)
    {
        if (size is not null && files[i].VirtualSize is null)
            (counted ??= new long?[files.Count])[i] = size;
    }

    /// <summary>
    /// With the guard held: lists the folder and reads the UID list again, gives new files UIDs
    /// (rewriting the list only then), and records in the log every arrival, flag change and
    /// expunge it does not hold yet, under one new mod-sequence. Touches no state a session sees.
    /// New files named in <paramref name="first"/> get their UIDs first, in that order (COPYUID
    /// pairs follow the source's order). Returns each file's UID and counted size (as UidsOf)
    /// index-aligned with the files, so callers look no key up again (100,000 string lookups each,
    /// on a first open).
    /// </summary>
    private (List<MaildirName> Files, UidList List, uint[] Uids, long?[]? Counted) RecordUnderGuard(IReadOnlyList<string>? first = null)
    {
        var (list, outcome) = UidList.Read(_path); // nobody else writes it while the guard is held
        var files = ListCur(list?.Entries.Count ?? _files.Count);
        if (outcome == UidList.ReadOutcome.Garbled)
            NoteValidity(UidList.SetAsideGarbled(_path));
        var listWasMissing = outcome == UidList.ReadOutcome.Missing;
        var rewrite = list is null;
        var tookOver = false;
        if (list is null)
        {
            // Another server's UIDs (first time only) and POP3 UIDLs kept: docs/mail-store.md "Takeover".
            NoteValidity(Takeover.FolderTakeover.ImportedValidity(_path));
            if (Takeover.FolderTakeover.Import(_path, Folder == "INBOX", listWasMissing, NewValidity, () => ListCur()) is { } imported)
                (list, tookOver, files) = (imported.List, imported.UidsKept, ListCur()); // names may carry new keyword letters
        }
        list ??= new UidList(NewValidity(), 1);
        EnsureLog(list.UidValidity, listWasMissing && !tookOver); // kept UIDs: clients may hold the old server's mod-sequences
        var keyOf = list.Entries.ToDictionary(e => e.Value.Uid, e => e.Key);
        if (list.Entries.Count > 0)
        {
            var present = new HashSet<string>(files.Select(f => f.Key), StringComparer.Ordinal);
            foreach (var gone in list.Entries.Keys.Where(k => !present.Contains(k)).ToList())
                list.Entries.Remove(gone);
        }
        // A file whose UID the log says was expunged came back (a restored backup): it gets a new UID,
        // since clients dropped the old one.
        var uids = new uint[files.Count];
        long?[]? counted = null;
        var fresh = new List<int>(); // indexes of the files without a UID
        for (var i = 0; i < files.Count; i++)
        {
            if (list.Entries.TryGetValue(files[i].Key, out var e))
            {
                if (_log.Messages.ContainsKey(e.Uid) || !_log.WasExpunged(e.Uid))
                {
                    uids[i] = e.Uid;
                    NoteCounted(ref counted, files, i, e.VirtualSize);
                    continue;
                }
                list.Entries.Remove(files[i].Key);
            }
            fresh.Add(i);
        }
        SortFresh(files, fresh, first);
        list.Entries.EnsureCapacity(list.Entries.Count + fresh.Count);
        var sizes = CountedSizes.Of(_path); // looked up once, not per file (a first open gives 100,000 files UIDs)
        foreach (var i in fresh)
        {
            var f = files[i];
            // Two files with one key (a copy made by hand) share the UID the first got. A size counted
            // earlier matters only for a name without ,W= (else counted when first asked for).
            var given = list.GetOrAssign(f.Key, (sizes, f.VirtualSize is null),
                static (state, key) => state.Item2 && state.sizes is { } kept && kept.TryGetValue(key, out var size) ? size : null);
            uids[i] = given.Uid;
            NoteCounted(ref counted, files, i, given.VirtualSize);
            rewrite = true;
        }
        if (rewrite)
        {
            CountedSizes.WriteInto(_path, list); // sizes counted since the last rewrite ride along
            if (CountedSizes.Of(_path) is { } kept)
            {
                // Forgotten below once the list carries them: the listing takes them by index now.
                for (var i = 0; i < files.Count; i++)
                    if (files[i].VirtualSize is null && kept.TryGetValue(files[i].Key, out var size))
                        NoteCounted(ref counted, files, i, size);
            }
            list.Write(_path);
            CountedSizes.Forget(_path, list);
        }
        if (tookOver)
            Takeover.FolderTakeover.MarkDone(_path, list.UidValidity);
        RecordChanges(files, uids, keyOf);
        return (files, list, uids, counted);
    }

    /// <summary>
    /// The order new files get UIDs in: those named in <paramref name="first"/> in its order, then
    /// by arrival time (the name's TIME), then by key. Without <paramref name="first"/> (every
    /// sync but a COPY's) the times are sorted as numbers and only files of one second compare
    /// keys: a first open sorts 100,000 files.
    /// </summary>
    private static void SortFresh(List<MaildirName> files, List<int> fresh, IReadOnlyList<string>? first)
    {
        if (first is { Count: > 0 })
        {
            var order = first.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i, StringComparer.Ordinal);
            fresh.Sort((x, y) =>
            {
                var (a, b) = (files[x], files[y]);
                var c = order.GetValueOrDefault(a.Key, int.MaxValue).CompareTo(order.GetValueOrDefault(b.Key, int.MaxValue));
                if (c == 0)
                    c = (a.Time ?? 0).CompareTo(b.Time ?? 0);
                return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
            });
            return;
        }
        var times = new long[fresh.Count];
        var indexes = fresh.ToArray();
        for (var i = 0; i < indexes.Length; i++)
            times[i] = files[indexes[i]].Time ?? 0;
        Array.Sort(times, indexes);
        var byKey = Comparer<int>.Create((x, y) => string.CompareOrdinal(files[x].Key, files[y].Key));
        for (var start = 0; start < times.Length;)
        {
            var end = start + 1;
            while (end < times.Length && times[end] == times[start])
                end++;
            if (end - start > 1)
                Array.Sort(indexes, start, end - start, byKey);
            start = end;
        }
        fresh.Clear();
        fresh.AddRange(indexes);
    }

    /// <summary>Reads the log; makes a new one when it is missing, garbled or of another UIDVALIDITY (the crash table's rows).</summary>
    private void EnsureLog(uint uidValidity, bool newFolder)
    {
        var outcome = _log.CatchUp();
        if (outcome == ModSeqLog.ReadOutcome.Garbled)
        {
            _log.SetAsideGarbled();
            outcome = ModSeqLog.ReadOutcome.Missing;
        }
        var seen = SeenModSeq.GetValueOrDefault(_path);
        if (outcome == ModSeqLog.ReadOutcome.Missing)
        {
            // Above any mod-sequence a lost log could have shown: milliseconds since 1970 outrun any
            // folder's changes (docs/mail-store.md); a new folder (no UID list either) starts low.
            var @base = newFolder ? seen : Math.Max((ulong)_store.Time.GetUtcNow().ToUnixTimeMilliseconds(), seen + 1);
            _log.Create(uidValidity, 0, @base, @base);
        }
        else if (_log.UidValidity != uidValidity)
        {
            _log.Create(uidValidity, _log.Generation + 1, _log.Highest, _log.Highest);
        }
    }

    private void NoteModSeq() => SeenModSeq.AddOrUpdate(_path, _log.Highest, (_, old) => Math.Max(old, _log.Highest));

    /// <summary>Appends M lines for arrivals and outside flag changes and X lines for files gone, all at one new mod-sequence.</summary>
    private void RecordChanges(List<MaildirName> files, uint[] uidOf, Dictionary<uint, string> keyOf)
    {
        var seq = _log.Highest + 1;
        // Room for an M line per file the log does not hold yet (a first open's 100,000) in one buffer.
        var lines = new ModSeqLog.Lines(Math.Max(0, files.Count - _log.Messages.Count) * 36 + 64);
        var uids = new HashSet<uint>(files.Count);
        for (var i = 0; i < files.Count; i++)
        {
            var uid = uidOf[i];
            if (!uids.Add(uid))
                continue;
            var flags = ModSeqLog.FlagsOf(files[i].Flags);
            if (!_log.Messages.TryGetValue(uid, out var m) || m.Flags != flags)
                lines.Message(uid, seq, flags);
        }
        var gone = _log.Messages.Keys.Where(u => !uids.Contains(u)).ToList();
        if (gone.Count > 0)
        {
            // readdir can miss a file renamed while it reads: a UID is gone only when a second
            // listing has no file of its key either.
            var again = new HashSet<string>(ListCur().Select(f => f.Key), StringComparer.Ordinal);
            gone.RemoveAll(u => keyOf.TryGetValue(u, out var key) && again.Contains(key));
            foreach (var line in ModSeqLog.ExpungeLines(seq, gone))
                lines.Add(line);
        }
        _log.Append(lines);
        if (_log.WantsCompaction)
            _log.Compact(_store.Options.ExpungeHistory);
        NoteModSeq();
    }

    /// <summary>Flags and keywords of a name's flag letters (keyword letters through this folder's keywords file).</summary>
    private (MessageFlags Flags, IReadOnlyList<string> Keywords) Decode(string letters)
    {
        var flags = MessageFlags.None;
        List<string>? keywords = null;
        foreach (var c in letters)
        {
            flags |= c switch
            {
                'S' => MessageFlags.Seen,
                'R' => MessageFlags.Answered,
                'F' => MessageFlags.Flagged,
                'T' => MessageFlags.Deleted,
                'D' => MessageFlags.Draft,
                _ => MessageFlags.None,
            };
            if (_keywords.NameOf(c) is { } k)
                (keywords ??= []).Add(k);
        }
        return (flags, keywords ?? (IReadOnlyList<string>)[]);
    }

    /// <summary>The letters after a STORE: system flags changed, keyword letters changed; P and other letters kept.</summary>
    private string Apply(FlagChange change, string letters)
    {
        const string System = "DFRST";
        var (current, _) = Decode(letters);
        var named = change.Keywords.Select(k => _keywords.LetterOf(k)).OfType<char>().ToHashSet();
        var kept = letters.Where(c => !System.Contains(c, StringComparison.Ordinal) && !(c is >= 'a' and <= 'z' && _keywords.NameOf(c) is not null));
        var keywords = letters.Where(c => c is >= 'a' and <= 'z' && _keywords.NameOf(c) is not null).ToHashSet();
        var flags = change.Mode switch
        {
            FlagChangeMode.Add => current | change.Flags,
            FlagChangeMode.Remove => current & ~change.Flags,
            _ => change.Flags,
        };
        switch (change.Mode)
        {
            case FlagChangeMode.Add:
                keywords.UnionWith(named);
                break;
            case FlagChangeMode.Remove:
                keywords.ExceptWith(named);
                break;
            default:
                keywords = named;
                break;
        }
        var result = new List<char>(kept);
        result.AddRange(keywords);
        foreach (var (flag, letter) in new[] { (MessageFlags.Draft, 'D'), (MessageFlags.Flagged, 'F'), (MessageFlags.Answered, 'R'), (MessageFlags.Seen, 'S'), (MessageFlags.Deleted, 'T') })
            if (flags.HasFlag(flag))
                result.Add(letter);
        return new string([.. result]);
    }

    /// <summary>Keywords not named in this folder yet get letters (the keywords file only grows).</summary>
    private void NameKeywords(IReadOnlyCollection<string> keywords)
    {
        _keywords = Keywords.Read(_path);
        if (keywords.All(k => _keywords.LetterOf(k) is not null))
            return;
        foreach (var k in keywords)
            _keywords.Add(k);
        _keywords.Write(_path);
    }

    /// <summary>
    /// The current names of these UIDs' files, from the log's flags; when one is not there (an
    /// outside rename), the folder is recorded first and its fresh listing answers.
    /// </summary>
    private Dictionary<uint, string> CurrentNames(IEnumerable<uint> uids)
    {
        var names = new Dictionary<uint, string>();
        foreach (var uid in uids)
        {
            if (!_log.Messages.TryGetValue(uid, out var m) || !_files.TryGetValue(uid, out var known))
                continue; // expunged by another session meanwhile
            var parsed = MaildirName.Parse(known);
            var name = ModSeqLog.FlagsOf(parsed.Flags) == m.Flags ? known : parsed.Key + ":2," + (m.Flags == "-" ? "" : m.Flags);
            if (!File.Exists(Path.Combine(Cur, name)))
                return Fresh(uids);
            names[uid] = name;
        }
        return names;
    }

    private Dictionary<uint, string> Fresh(IEnumerable<uint> uids)
    {
        var (files, list, _, _) = RecordUnderGuard();
        var wanted = uids.ToHashSet();
        var names = new Dictionary<uint, string>();
        if (list.UidValidity != UidValidity)
            return names; // a new UIDVALIDITY: none of these UIDs exists any more
        foreach (var f in files)
            if (list.Entries.TryGetValue(f.Key, out var e) && wanted.Contains(e.Uid) && _log.Messages.ContainsKey(e.Uid))
                names.TryAdd(e.Uid, f.Name);
        return names;
    }

    private void CatchUpUnderGuard()
    {
        if (_log.CatchUp() != ModSeqLog.ReadOutcome.Ok || _log.UidValidity != UidValidity)
            RecordUnderGuard();
    }

    public Task<StoreResult> StoreAsync(IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince = null, CancellationToken ct = default) =>
        Task.FromResult(Store(uids, change, unchangedSince));

    private StoreResult Store(IReadOnlyCollection<uint> uids, FlagChange change, ulong? unchangedSince)
    {
        var targets = uids.Where(_files.ContainsKey).Distinct().Order().ToList();
        if (targets.Count == 0)
            return new StoreResult([], [], []);
        var changed = new List<(uint Uid, string From, string To)>();
        var unchanged = new List<(uint Uid, string Name)>();
        var modified = new List<uint>();
        ulong seq;
        using (Guard.Take(Path.Combine(_path, UidList.GuardName)))
        {
            CatchUpUnderGuard();
            var current = _log.Highest == HighestModSeq;
            if (change.Keywords.Count > 0)
                NameKeywords(change.Keywords);
            var names = CurrentNames(targets);
            seq = _log.Highest + 1;
            foreach (var uid in targets)
            {
                if (!names.TryGetValue(uid, out var name))
                    continue;
                if (unchangedSince is { } limit && _log.Messages[uid].ModSeq > limit)
                {
                    modified.Add(uid); // RFC 7162 §3.1.3: changed since the client looked
                    continue;
                }
                var parsed = MaildirName.Parse(name);
                var to = parsed.WithFlags(Apply(change, parsed.Flags));
                if (ModSeqLog.FlagsOf(MaildirName.Parse(to).Flags) == _log.Messages[uid].Flags)
                    unchanged.Add((uid, name));
                else
                    changed.Add((uid, name, to));
            }
            // Write-ahead: the M lines are durable before any file is renamed and before any reply.
            var lines = new ModSeqLog.Lines();
            foreach (var (changedUid, _, to) in changed)
                lines.Message(changedUid, seq, ModSeqLog.FlagsOf(MaildirName.Parse(to).Flags));
            _log.Append(lines);
            foreach (var (_, from, to) in changed)
            {
                try
                {
                    File.Move(Path.Combine(Cur, from), Path.Combine(Cur, to));
                }
                catch (FileNotFoundException)
                {
                    // renamed by another program in between: its flags differ from the line, so the next sync gives it a new mod-sequence
                }
            }
            if (_log.WantsCompaction)
                _log.Compact(_store.Options.ExpungeHistory);
            NoteModSeq();
            if (current)
                HighestModSeq = _log.Highest; // nothing of others' happened since the last sync: this view is whole
        }
        var result = new StoreResult(
            [.. changed.Select(c => Refresh(c.Uid, c.To, seq))],
            [.. unchanged.Select(u => Refresh(u.Uid, u.Name, _log.Messages.TryGetValue(u.Uid, out var m) ? m.ModSeq : seq))],
            modified);
        if (changed.Count > 0)
            _store.Publish(Owner, Folder, MailboxChangeKind.FlagsChanged);
        return result;
    }

    /// <summary>This object's entry of <paramref name="uid"/> under its new name and mod-sequence.</summary>
    private MailboxEntry Refresh(uint uid, string name, ulong modSeq)
    {
        OwnListing();
        var (flags, keywords) = Decode(MaildirName.Parse(name).Flags);
        var entry = _entries[IndexOf(_entries, uid)] with { Flags = flags, Keywords = keywords, ModSeq = modSeq };
        _entries[IndexOf(_entries, uid)] = entry;
        if (!ReferenceEquals(_reported, _entries) && IndexOf(_reported, uid) is var r and >= 0)
            _reported[r] = entry; // this session answers for its own STORE: the next sync need not
        _files[uid] = name;
        return entry;
    }

    private static int IndexOf(List<MailboxEntry> entries, uint uid) =>
        entries.BinarySearch(new MailboxEntry(uid, 0, [], 0, 0, default, ""), Comparer<MailboxEntry>.Create((a, b) => a.Uid.CompareTo(b.Uid)));

    /// <summary>Drops messages this session removed itself (EXPUNGE, MOVE): it reports them, the next sync does not again.</summary>
    private void Forget(IReadOnlyCollection<uint> uids)
    {
        OwnListing();
        var set = uids.ToHashSet();
        foreach (var uid in set)
            _files.Remove(uid);
        _entries.RemoveAll(e => set.Contains(e.Uid));
        if (!ReferenceEquals(_reported, _entries))
            _reported.RemoveAll(e => set.Contains(e.Uid));
    }

    public async Task<bool> StoreFlagsAsync(uint uid, MessageFlags flags, IReadOnlyCollection<string> keywords, CancellationToken ct = default)
    {
        var result = await StoreAsync([uid], new FlagChange(FlagChangeMode.Replace, flags, keywords), null, ct);
        return result.Changed.Count + result.Unchanged.Count > 0;
    }

    public Task<int> ExpungeAsync(IEnumerable<uint> uids, CancellationToken ct = default) => Task.FromResult(Expunge(uids));

    private int Expunge(IEnumerable<uint> uids)
    {
        var targets = uids.Where(_files.ContainsKey).Distinct().Order().ToList();
        if (targets.Count == 0)
            return 0;
        var gone = new List<uint>();
        long bytes = 0;
        using (Guard.Take(Path.Combine(_path, UidList.GuardName)))
        {
            CatchUpUnderGuard();
            var current = _log.Highest == HighestModSeq;
            foreach (var (uid, name) in CurrentNames(targets))
            {
                try
                {
                    File.Delete(Path.Combine(Cur, name));
                    gone.Add(uid);
                    bytes += Find(uid)?.Size ?? 0;
                }
                catch (IOException)
                {
                }
            }
            if (gone.Count > 0)
            {
                // The unlinks are durable before the X line says so: no power loss brings back a message whose expunge was told.
                using (var dir = Posix.Libc.Open(Cur, Posix.Libc.ORdOnly | Posix.Libc.ODirectory))
                    Posix.Libc.Fsync(dir);
                _log.Append([.. ModSeqLog.ExpungeLines(_log.Highest + 1, gone)]);
                NoteModSeq();
                if (current)
                    HighestModSeq = _log.Highest;
            }
        }
        // Gone from this object's view too; UIDs another session expunged first stay until the next sync reports them.
        Forget(gone);
        if (gone.Count > 0)
        {
            MaildirQuota.Add(_maildir, -bytes, -gone.Count);
            _store.Publish(Owner, Folder, MailboxChangeKind.Expunged);
        }
        return gone.Count;
    }

    public IReadOnlyList<UidRange> ExpungedSince(ulong modSeq)
    {
        var present = _entries.Select(e => e.Uid).ToList(); // ascending
        var result = new List<UidRange>();
        foreach (var (first, last) in _log.ExpungedSince(modSeq, UidNext, present))
        {
            // Not the UIDs this object still lists: the next sync reports those as expunged first.
            var i = present.BinarySearch(first);
            var from = first;
            for (i = i < 0 ? ~i : i; i < present.Count && present[i] <= last; i++)
            {
                if (present[i] > from)
                    result.Add(new UidRange(from, present[i] - 1));
                from = present[i] + 1;
            }
            if (from <= last && from != 0)
                result.Add(new UidRange(from, last));
        }
        return result;
    }
}
