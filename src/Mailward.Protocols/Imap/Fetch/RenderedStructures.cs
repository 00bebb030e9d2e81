// The rendered ENVELOPE and BODYSTRUCTURE/BODY of messages, kept in memory for every session of the
// process (Dovecot keeps the same strings in its index cache): a second FETCH of a folder's
// metadata writes stored bytes instead of reading and rendering each message's structure again.
// A message's text never changes under its UID while UIDVALIDITY stays (RFC 9051 §2.3.1.1), so
// (owner, folder, UIDVALIDITY, UID) names the bytes; the size on disk is checked as well. Bounded by
// Imap:RenderCacheBytes: least recently used folders go first, and a folder that fills the budget
// alone keeps what it has and takes no more.
namespace Mailward.Protocols.Imap.Fetch;

public sealed class RenderedStructures(long budgetBytes)
{
    /// <summary>What is kept per message.</summary>
    public enum Kind
    {
        Envelope,
        BodyStructure,
        BodyStructureRev2,
        Body,
        BodyRev2,
    }

    private const int KindCount = 5;
    private const int EntryOverhead = 128; // the slot array, the table entry and the array headers, roughly

    private sealed class Folder
    {
        public readonly Dictionary<uint, (long Size, byte[]?[] Renders)> Messages = [];
        public long Bytes;
        public long LastUsed;
    }

    private readonly object _lock = new();
    private readonly Dictionary<(string Owner, string Folder, uint Validity), Folder> _folders = [];
    private long _bytes;
    private long _clock;

    public long Bytes
    {
        get
        {
            lock (_lock)
                return _bytes;
        }
    }

    /// <summary>The kept bytes, or null.</summary>
    public byte[]? Find(string owner, string folder, uint validity, uint uid, long size, Kind kind)
    {
        lock (_lock)
        {
            if (!_folders.TryGetValue((owner, folder, validity), out var f) || !f.Messages.TryGetValue(uid, out var m) || m.Size != size)
                return null;
            f.LastUsed = ++_clock;
            return m.Renders[(int)kind];
        }
    }

    /// <summary>Keeps rendered bytes when the budget allows (older folders make room; the folder in use never does).</summary>
    public void Keep(string owner, string folder, uint validity, uint uid, long size, Kind kind, byte[] bytes)
    {
        if (budgetBytes <= 0)
            return;
        lock (_lock)
        {
            var id = (owner, folder, validity);
            if (!_folders.TryGetValue(id, out var f))
                _folders[id] = f = new Folder();
            f.LastUsed = ++_clock;
            long cost = bytes.Length + (f.Messages.ContainsKey(uid) ? 0 : EntryOverhead);
            while (_bytes + cost > budgetBytes && Oldest(f) is { } old)
            {
                _bytes -= _folders[old].Bytes;
                _folders.Remove(old);
            }
            if (_bytes + cost > budgetBytes)
                return;
            if (!f.Messages.TryGetValue(uid, out var m) || m.Size != size)
            {
                if (m.Renders is not null)
                    cost -= Weight(m.Renders); // another text under this UID cannot happen in IMAP; a hand-replaced file can
                m = (size, new byte[KindCount][]);
                f.Messages[uid] = m;
            }
            if (m.Renders[(int)kind] is { } before)
                cost -= before.Length;
            m.Renders[(int)kind] = bytes;
            f.Bytes += cost;
            _bytes += cost;
        }
    }

    private static long Weight(byte[]?[] renders)
    {
        long bytes = 0;
        foreach (var r in renders)
            bytes += r?.Length ?? 0;
        return bytes;
    }

    private (string, string, uint)? Oldest(Folder except)
    {
        (string, string, uint)? oldest = null;
        var at = long.MaxValue;
        foreach (var (id, f) in _folders)
            if (f != except && f.LastUsed < at)
                (oldest, at) = (id, f.LastUsed);
        return oldest;
    }
}
