// The selected mailbox of a session: the store's mailbox, the session's view of it (message
// numbers as this client knows them, RFC 9051 §2.3.1.2), and a flag raised when this owner's
// folder changed in another session or by delivery (MailboxEvents), which IDLE and NOOP look at.
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap;

internal sealed class SelectedMailbox : IDisposable, IMailboxChangeListener
{
    private readonly MailboxEvents? _events;
    private int _changed; // 1: a change was announced since the last Rearm
    private Action? _waker;

    public SelectedMailbox(IMailbox mailbox, bool readOnly, MailboxEvents? events)
    {
        Mailbox = mailbox;
        ReadOnly = readOnly;
        View = new SelectedView(mailbox.Entries, mailbox.EntriesFrozen);
        UidValidity = mailbox.UidValidity;
        _events = events;
        events?.Subscribe(mailbox.Owner.Address, this);
    }

    void IMailboxChangeListener.Changed(MailboxChange change)
    {
        if (change.Folder.Equals(Mailbox.Folder, StringComparison.Ordinal))
        {
            // A full fence between the flag and the waker (Interlocked): an IDLE that sets its waker and
            // then reads the flag cannot miss a change announced meanwhile.
            Interlocked.Exchange(ref _changed, 1);
            Volatile.Read(ref _waker)?.Invoke();
        }
    }

    public IMailbox Mailbox { get; }
    public bool ReadOnly { get; }
    public SelectedView View { get; }
    public uint UidValidity { get; }

    /// <summary>Whether a change of this folder was announced since the last <see cref="Rearm"/>.</summary>
    public bool HasChanged => Volatile.Read(ref _changed) != 0;

    /// <summary>Lowers the flag before a sync, so a change during the sync is not missed.</summary>
    public void Rearm() => Volatile.Write(ref _changed, 0);

    /// <summary>
    /// Called after the flag is raised (IDLE's wake-up; null when nobody waits). Set it before looking
    /// at <see cref="HasChanged"/>: a change in between is then seen one way or the other.
    /// </summary>
    public void SetWaker(Action? waker) => Interlocked.Exchange(ref _waker, waker);

    public void Dispose()
    {
        _events?.Unsubscribe(Mailbox.Owner.Address, this);
        Mailbox.Dispose();
    }
}

/// <summary>
/// Message numbers as the client knows them: the entries in UID order, with the flags last sent
/// (one list: message number n is index n - 1, found by binary search on the UID). A sync's
/// result is turned into EXPUNGE, EXISTS and FETCH (FLAGS) replies by <see cref="Changes"/>;
/// expunges wait while a command that works on message numbers runs (RFC 9051 §7.5.1).
/// </summary>
internal sealed class SelectedView
{
    private IReadOnlyList<MailboxEntry> _entries;
    private bool _owned; // _entries is this view's own list; else a frozen one shared with the store, copied at the first change

    /// <summary>
    /// The view of a mailbox's entries (in UID order). A frozen list (nobody changes it: a kept
    /// listing) is held as it is until the view changes, so a SELECT of a big folder copies nothing.
    /// </summary>
    public SelectedView(IReadOnlyList<MailboxEntry> entries, bool frozen = false)
    {
        _entries = frozen ? entries : new List<MailboxEntry>(entries);
        _owned = !frozen;
    }

    private List<MailboxEntry> Own()
    {
        if (!_owned)
        {
            _entries = new List<MailboxEntry>(_entries);
            _owned = true;
        }
        return (List<MailboxEntry>)_entries;
    }

    public int Count => _entries.Count;

    /// <summary>CONDSTORE is on (RFC 7162 §3.1): flag changes carry MODSEQ, and a change of MODSEQ alone is one.</summary>
    public bool CondStore { get; set; }

    /// <summary>QRESYNC is on (RFC 7162 §3.2.10): expunges go out as VANISHED, not EXPUNGE.</summary>
    public bool QResync { get; set; }

    /// <summary>The index of a UID in the view, or the bitwise complement of where it would go.</summary>
    private int IndexOf(uint uid)
    {
        int lo = 0, hi = _entries.Count - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            var at = _entries[mid].Uid;
            if (at == uid)
                return mid;
            if (at < uid)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>Forgets a message the client was told is gone (a VANISHED or EXPUNGE sent elsewhere).</summary>
    public void Remove(uint uid)
    {
        var i = IndexOf(uid);
        if (i >= 0)
            Own().RemoveAt(i);
    }

    public uint UidAt(int seq) => _entries[seq - 1].Uid;

    public MailboxEntry Known(uint uid) => _entries[IndexOf(uid) is var i and >= 0 ? i : throw new KeyNotFoundException($"UID {uid}")];

    /// <summary>The message number of a UID; 0 when the client does not know it.</summary>
    public int SeqOf(uint uid)
    {
        var i = IndexOf(uid);
        return i >= 0 ? i + 1 : 0;
    }

    public int FirstUnseen()
    {
        for (var i = 0; i < _entries.Count; i++)
            if (!_entries[i].Flags.HasFlag(MessageFlags.Seen))
                return i + 1;
        return 0;
    }

    /// <summary>The messages a set names, as (message number, UID), ascending; null when a message number is out of range.</summary>
    public List<(int Seq, uint Uid)>? Select(SequenceSet set, bool byUid)
    {
        var picked = new List<(int Seq, uint Uid)>();
        if (byUid)
        {
            if (_entries.Count == 0)
                return [];
            foreach (var (from, to) in set.Ranges(_entries[^1].Uid))
            {
                var i = IndexOf(from);
                for (i = i < 0 ? ~i : i; i < _entries.Count && _entries[i].Uid <= to; i++)
                    picked.Add((i + 1, _entries[i].Uid));
            }
        }
        else
        {
            foreach (var (from, to) in set.Ranges((uint)_entries.Count))
            {
                if (from == 0 || to > _entries.Count)
                    return null;
                for (var n = from; n <= to; n++)
                    picked.Add(((int)n, _entries[(int)n - 1].Uid));
            }
        }
        // Ranges in ascending order without overlap (what clients send) need no sort.
        for (var i = 1; i < picked.Count; i++)
        {
            if (picked[i].Seq > picked[i - 1].Seq)
                continue;
            picked.Sort((a, b) => a.Seq.CompareTo(b.Seq));
            var unique = new List<(int Seq, uint Uid)>(picked.Count);
            foreach (var p in picked)
                if (unique.Count == 0 || unique[^1].Seq != p.Seq)
                    unique.Add(p);
            return unique;
        }
        return picked;
    }

    /// <summary>Records what the client was just told about a message (a FETCH with FLAGS).</summary>
    public void Told(MailboxEntry entry)
    {
        if (IndexOf(entry.Uid) is var i and >= 0 && !ReferenceEquals(_entries[i], entry))
            Own()[i] = entry;
    }

    /// <summary>
    /// The untagged replies that bring the client to <paramref name="current"/> (the mailbox's
    /// entries in UID order): EXPUNGE from the highest number down (each number is right when
    /// sent), then EXISTS, then FETCH FLAGS for messages whose flags changed. Both lists are in UID
    /// order, so one walk over each finds every difference.
    /// </summary>
    public List<string> Changes(IReadOnlyList<MailboxEntry> current, bool allowExpunge)
    {
        var replies = new List<string>();
        if (ReferenceEquals(current, _entries))
            return replies; // the same frozen listing: nothing changed
        if (allowExpunge)
        {
            var vanished = new List<uint>();
            var kept = new bool[_entries.Count];
            var any = false;
            for (int i = _entries.Count - 1, j = current.Count - 1; i >= 0; i--)
            {
                var uid = _entries[i].Uid;
                while (j >= 0 && current[j].Uid > uid)
                    j--;
                if (j >= 0 && current[j].Uid == uid)
                {
                    kept[i] = true;
                    continue;
                }
                any = true;
                if (QResync)
                    vanished.Add(uid);
                else
                    replies.Add($"{i + 1} EXPUNGE");
            }
            if (any)
            {
                var left = new List<MailboxEntry>(_entries.Count);
                for (var i = 0; i < _entries.Count; i++)
                    if (kept[i])
                        left.Add(_entries[i]);
                _entries = left;
                _owned = true;
            }
            if (vanished.Count > 0)
            {
                vanished.Reverse();
                replies.Add("VANISHED " + SequenceSet.Format(vanished));
            }
        }
        var largest = _entries.Count > 0 ? _entries[^1].Uid : 0;
        var added = false;
        var changed = new List<string>();
        var at = 0;
        foreach (var e in current)
        {
            if (e.Uid > largest)
            {
                Own().Add(e);
                added = true;
                continue;
            }
            while (at < _entries.Count && _entries[at].Uid < e.Uid)
                at++;
            if (at == _entries.Count || _entries[at].Uid != e.Uid)
                continue;
            var old = _entries[at];
            if (old.Flags != e.Flags || !old.Keywords.SequenceEqual(e.Keywords) || CondStore && old.ModSeq != e.ModSeq)
            {
                Own()[at] = e;
                changed.Add($"{at + 1} FETCH (UID {e.Uid} FLAGS ({FlagText(e)}){(CondStore ? $" MODSEQ ({e.ModSeq})" : "")})");
            }
        }
        if (added)
            replies.Add($"{_entries.Count} EXISTS");
        replies.AddRange(changed);
        return replies;
    }

    /// <summary>The flags of a message as FETCH FLAGS writes them (RFC 9051 §2.3.2).</summary>
    public static string FlagText(MailboxEntry e)
    {
        var parts = new List<string>(6);
        if (e.Flags.HasFlag(MessageFlags.Seen))
            parts.Add("\\Seen");
        if (e.Flags.HasFlag(MessageFlags.Answered))
            parts.Add("\\Answered");
        if (e.Flags.HasFlag(MessageFlags.Flagged))
            parts.Add("\\Flagged");
        if (e.Flags.HasFlag(MessageFlags.Deleted))
            parts.Add("\\Deleted");
        if (e.Flags.HasFlag(MessageFlags.Draft))
            parts.Add("\\Draft");
        parts.AddRange(e.Keywords);
        return string.Join(' ', parts);
    }
}
