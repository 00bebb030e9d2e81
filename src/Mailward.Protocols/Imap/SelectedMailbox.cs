// The selected mailbox of a session: the store's mailbox, the session's view of it (message
// numbers as this client knows them, RFC 9051 §2.3.1.2), and a signal raised when this owner's
// folder changed in another session or by delivery (MailboxEvents), which IDLE and NOOP wait on.
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap;

internal sealed class SelectedMailbox : IDisposable
{
    private readonly IDisposable? _subscription;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SelectedMailbox(IMailbox mailbox, bool readOnly, MailboxEvents? events)
    {
        Mailbox = mailbox;
        ReadOnly = readOnly;
        View = new SelectedView(mailbox.Entries);
        UidValidity = mailbox.UidValidity;
        _subscription = events?.Subscribe(mailbox.Owner.Address, change =>
        {
            if (change.Folder.Equals(mailbox.Folder, StringComparison.Ordinal))
                _changed.TrySetResult();
        });
    }

    public IMailbox Mailbox { get; }
    public bool ReadOnly { get; }
    public SelectedView View { get; }
    public uint UidValidity { get; }

    /// <summary>Completes when a change of this folder was announced since the last call (then re-armed).</summary>
    public Task Changed => _changed.Task;

    /// <summary>Re-arms the signal before a sync, so a change during the sync is not missed.</summary>
    public void Rearm()
    {
        if (_changed.Task.IsCompleted)
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        Mailbox.Dispose();
    }
}

/// <summary>
/// Message numbers as the client knows them: UIDs in order, with the flags last sent. A sync's
/// result is turned into EXPUNGE, EXISTS and FETCH (FLAGS) replies by <see cref="Changes"/>;
/// expunges wait while a command that works on message numbers runs (RFC 9051 §7.5.1).
/// </summary>
internal sealed class SelectedView
{
    private readonly List<uint> _uids = [];
    private readonly Dictionary<uint, MailboxEntry> _known = [];

    public SelectedView(IReadOnlyList<MailboxEntry> entries)
    {
        foreach (var e in entries)
        {
            _uids.Add(e.Uid);
            _known[e.Uid] = e;
        }
    }

    public int Count => _uids.Count;

    /// <summary>CONDSTORE is on (RFC 7162 §3.1): flag changes carry MODSEQ, and a change of MODSEQ alone is one.</summary>
    public bool CondStore { get; set; }

    /// <summary>QRESYNC is on (RFC 7162 §3.2.10): expunges go out as VANISHED, not EXPUNGE.</summary>
    public bool QResync { get; set; }

    /// <summary>Forgets a message the client was told is gone (a VANISHED or EXPUNGE sent elsewhere).</summary>
    public void Remove(uint uid)
    {
        var i = _uids.BinarySearch(uid);
        if (i < 0)
            return;
        _uids.RemoveAt(i);
        _known.Remove(uid);
    }

    public uint UidAt(int seq) => _uids[seq - 1];

    public MailboxEntry Known(uint uid) => _known[uid];

    /// <summary>The message number of a UID; 0 when the client does not know it.</summary>
    public int SeqOf(uint uid)
    {
        var i = _uids.BinarySearch(uid);
        return i >= 0 ? i + 1 : 0;
    }

    public int FirstUnseen()
    {
        for (var i = 0; i < _uids.Count; i++)
            if (!_known[_uids[i]].Flags.HasFlag(MessageFlags.Seen))
                return i + 1;
        return 0;
    }

    /// <summary>The messages a set names, as (message number, UID), ascending; null when a message number is out of range.</summary>
    public List<(int Seq, uint Uid)>? Select(SequenceSet set, bool byUid)
    {
        var picked = new SortedDictionary<int, uint>();
        if (byUid)
        {
            if (_uids.Count == 0)
                return [];
            foreach (var (from, to) in set.Ranges(_uids[^1]))
            {
                var i = _uids.BinarySearch(from);
                for (i = i < 0 ? ~i : i; i < _uids.Count && _uids[i] <= to; i++)
                    picked[i + 1] = _uids[i];
            }
        }
        else
        {
            foreach (var (from, to) in set.Ranges((uint)_uids.Count))
            {
                if (from == 0 || to > _uids.Count)
                    return null;
                for (var n = from; n <= to; n++)
                    picked[(int)n] = _uids[(int)n - 1];
            }
        }
        return [.. picked.Select(p => (p.Key, p.Value))];
    }

    /// <summary>Records what the client was just told about a message (a FETCH with FLAGS).</summary>
    public void Told(MailboxEntry entry)
    {
        if (_known.ContainsKey(entry.Uid))
            _known[entry.Uid] = entry;
    }

    /// <summary>
    /// The untagged replies that bring the client to <paramref name="current"/> (the mailbox's
    /// entries in UID order): EXPUNGE from the highest number down (each number is right when
    /// sent), then EXISTS, then FETCH FLAGS for messages whose flags changed.
    /// </summary>
    public List<string> Changes(IReadOnlyList<MailboxEntry> current, bool allowExpunge)
    {
        var replies = new List<string>();
        var now = new Dictionary<uint, MailboxEntry>(current.Count);
        foreach (var e in current)
            now[e.Uid] = e;
        if (allowExpunge)
        {
            var vanished = new List<uint>();
            for (var i = _uids.Count - 1; i >= 0; i--)
            {
                if (now.ContainsKey(_uids[i]))
                    continue;
                if (QResync)
                    vanished.Add(_uids[i]);
                else
                    replies.Add($"{i + 1} EXPUNGE");
                _known.Remove(_uids[i]);
                _uids.RemoveAt(i);
            }
            if (vanished.Count > 0)
            {
                vanished.Reverse();
                replies.Add("VANISHED " + SequenceSet.Format(vanished));
            }
        }
        var largest = _uids.Count > 0 ? _uids[^1] : 0;
        var added = false;
        var changed = new List<string>();
        foreach (var e in current)
        {
            if (e.Uid > largest)
            {
                _uids.Add(e.Uid);
                _known[e.Uid] = e;
                added = true;
            }
            else if (_known.TryGetValue(e.Uid, out var old) && (old.Flags != e.Flags || !old.Keywords.SequenceEqual(e.Keywords) || CondStore && old.ModSeq != e.ModSeq))
            {
                _known[e.Uid] = e;
                changed.Add($"{SeqOf(e.Uid)} FETCH (UID {e.Uid} FLAGS ({FlagText(e)}){(CondStore ? $" MODSEQ ({e.ModSeq})" : "")})");
            }
        }
        if (added)
            replies.Add($"{_uids.Count} EXISTS");
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
