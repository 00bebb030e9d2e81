// The structure cache of one folder (docs/mail-store.md "The structure cache"): an index of the
// records in mailward-structure, shared by the sessions of this process that have the folder
// open, records read when asked for through one kept descriptor, new ones appended in batches
// without fsync (derived data).
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Mailward.Core.MailStore.Structure;
using Mailward.Core.Posix;
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.MailStore.Maildir;

public sealed class StructureCache
{
    public const string FileName = "mailward-structure";
    private const int MaxRecordBytes = 16 << 20;
    private const int BatchRecords = 256;
    private const int BatchBytes = 1 << 20;
    private const long MissScanMilliseconds = 200;
    private static readonly TimeSpan BatchAge = TimeSpan.FromSeconds(2);
    // By folder and limits (a record: compared by value), not a string made of both: a record's
    // ToString at every SELECT showed in profiles of an unchanged folder's SELECT.
    private static readonly ConcurrentDictionary<(string Folder, StructureLimits Limits), StructureCache> Open = new();

    private readonly string _path;
    private readonly string _header;
    private readonly object _lock = new();
    // By a 64-bit hash of the key, not the key: a big folder's index held a young string per message
    // in a long-lived table for every young collection of a first pass to trace (without them that
    // pass ran about 5% faster). The record itself carries its key and a read checks it, so two
    // keys of one hash only cost a parse.
    private readonly Dictionary<ulong, (long Offset, int Length)> _index = [];
    // Encoded records only: a parsed structure is a few KB of objects, and a batch of 256 of them
    // outlived the young generation on every first pass over a big folder.
    private readonly List<(string Key, byte[] Payload)> _pending = [];
    private readonly Dictionary<string, int> _pendingAt = new(StringComparer.Ordinal); // key → its newest entry in _pending
    private long _missScannedAt = -MissScanMilliseconds; // Environment.TickCount64 of the last Scan a miss asked for (the first miss always asks)
    private int _pendingBytes;
    private DateTime _pendingSince;
    private long _scanned; // the file's bytes read into the index so far; -1: the file is garbled, ignored until rewritten
    private SafeFileHandle? _reader; // the file the index describes (its offsets are into this inode), open while the cache is
    private ulong _readerInode;
    private bool _needsRewrite; // torn tail, bad record, garbled header or too many dead records
    private int _records;
    private int _users;

    private readonly string _folder;

    private StructureCache(string folder, StructureLimits limits)
    {
        _folder = folder;
        _path = Path.Combine(folder, FileName);
        Limits = limits;
        _header = string.Create(CultureInfo.InvariantCulture, $"MWSTRUCT 1 L{limits.MaxDepth},{limits.MaxParts},{limits.MaxParameters},{limits.MaxAddresses}\n");
    }

    public StructureLimits Limits { get; }

    /// <summary>The folder's cache, shared within the process while any mailbox has it; Release when done.</summary>
    public static StructureCache Acquire(string folder, StructureLimits limits)
    {
        while (true)
        {
            var cache = Open.GetOrAdd((folder, limits), static key => new StructureCache(key.Folder, key.Limits));
            lock (cache._lock)
            {
                if (cache._users >= 0)
                {
                    cache._users++;
                    return cache;
                }
            }
            // released to nothing just now: take a fresh one
        }
    }

    public void Release(LiveSet? live = null)
    {
        lock (_lock)
        {
            if (--_users > 0)
                return;
            _users = -1;
            Flush(live);
            CloseReader();
        }
        Open.TryRemove(new KeyValuePair<(string, StructureLimits), StructureCache>((_folder, Limits), this));
    }

    /// <summary>
    /// What the folder holds now, asked for only when a write considers a rewrite: how many messages
    /// (cheap), and for the rewrite itself their keys.
    /// </summary>
    public sealed record LiveSet(Func<int> Count, Func<IReadOnlyCollection<string>> Keys);

    /// <summary>The message's structure from the cache, or parsed now (and queued for the file). Size: its size on disk.</summary>
    public MessageStructure? Get(string key, long size, Func<MessageReader?> open, LiveSet? live = null)
    {
        lock (_lock)
        {
            if (Lookup(key, size) is { } found)
                return found;
            // Another process may have appended it meanwhile. Asked at most every 200 ms: a folder's
            // first pass misses every message, and a parse twice only costs the parse.
            var now = Environment.TickCount64;
            if (now - _missScannedAt >= MissScanMilliseconds)
            {
                _missScannedAt = now;
                Scan();
                if (Lookup(key, size) is { } appended)
                    return appended;
            }
        }
        MessageStructure parsed;
        using (var reader = open())
        {
            if (reader is null)
                return null;
            parsed = StructureParser.Parse(reader, Limits);
        }
        lock (_lock)
        {
            var payload = StructureCodec.Encode(key, parsed);
            if (_pending.Count == 0)
                _pendingSince = DateTime.UtcNow;
            _pendingAt[key] = _pending.Count;
            _pending.Add((key, payload));
            _pendingBytes += payload.Length;
            if (_pending.Count >= BatchRecords || _pendingBytes >= BatchBytes || DateTime.UtcNow - _pendingSince >= BatchAge)
                Flush(live);
        }
        return parsed;
    }

    /// <summary>Writes what waits (append, or a rewrite when the file needs one). Caller holds the lock.</summary>
    private void Flush(LiveSet? live)
    {
        if (_pending.Count == 0)
            return;
        try
        {
            Scan(); // what other processes appended is kept by a rewrite
            // The count is enough to decide; the keys (a pass over every name) only for a rewrite.
            if (live is not null && _records + _pending.Count > 2 * live.Count() + 100)
                _needsRewrite = true;
            if (_needsRewrite || _scanned <= 0)
                Rewrite(live?.Keys());
            else
                Append();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // derived data: a cache that cannot be written only costs parses
        }
        _pending.Clear();
        _pendingAt.Clear();
        _pendingBytes = 0;
    }

    private void Append()
    {
        // A pooled buffer: a first pass over a big folder appends a batch of about 400 KB every 256 messages.
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(_pendingBytes + _pending.Count * 32);
        var used = 0;
        var offsets = new List<(string Key, long Offset, int Length)>(_pending.Count);
        long start;
        bool same;
        try
        {
            foreach (var (key, payload) in _pending)
            {
                // "R LENGTH CRC\n" (at most 2 + 10 + 1 + 8 + 1 bytes), the payload, "\n".
                var line = buffer.AsSpan(used);
                var written = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"R {payload.Length} {Crc32.HashToUInt32(payload):x8}\n"), line);
                used += written;
                offsets.Add((key, used, payload.Length));
                payload.CopyTo(buffer.AsSpan(used));
                used += payload.Length;
                buffer[used++] = (byte)'\n';
            }
            using var f = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            f.Write(buffer, 0, used); // one write(2) with O_APPEND: lands whole after whatever is there
            start = f.Position - used;
            same = Libc.Stamp(f.SafeFileHandle).Inode == _readerInode;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
        if (start == 0)
            (_scanned, _needsRewrite) = (-1, true); // the file was deleted meanwhile: this one has no header
        else if (start == _scanned && same)
        {
            foreach (var (key, offset, length) in offsets)
                _index[IndexKey(key)] = (start + offset, length);
            _records += offsets.Count;
            _scanned = start + used;
        }
        // else another process appended in between (or replaced the file): the next Scan reads both its records and ours
    }

    /// <summary>A new file: the header, the newest record of each live key (all, without a list), and what waits.</summary>
    private void Rewrite(IReadOnlyCollection<string>? liveKeys)
    {
        var keep = new List<(string Key, byte[] Payload)>();
        if (_scanned > 0)
            foreach (var (offset, length) in _index.Values)
                if (Read(offset, length) is { } payload && StructureCodec.Key(payload) is { } key
                    && (liveKeys is null || liveKeys.Contains(key)) && !_pendingAt.ContainsKey(key))
                    keep.Add((key, payload));
        keep.AddRange(_pending);
        var tmp = _path + ".tmp";
        CloseReader();
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(Encoding.ASCII.GetBytes(_header));
            _index.Clear();
            foreach (var (key, payload) in keep)
            {
                f.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"R {payload.Length} {Crc32.HashToUInt32(payload):x8}\n")));
                _index[IndexKey(key)] = (f.Position, payload.Length);
                f.Write(payload);
                f.WriteByte((byte)'\n');
            }
            _scanned = f.Position;
        }
        OpenReader(tmp); // the inode the new index describes, whatever replaces the name later
        File.Move(tmp, _path, overwrite: true); // no fsync: derived data (docs/mail-store.md)
        _records = keep.Count;
        _needsRewrite = false;
    }

    /// <summary>True when a record of the key is in the file or waits for it (of any size: a stale one is only a miss later).</summary>
    public bool Holds(string key)
    {
        lock (_lock)
            return _pendingAt.ContainsKey(key) || _index.ContainsKey(IndexKey(key));
    }

    private MessageStructure? Lookup(string key, long size)
    {
        if (_pendingAt.TryGetValue(key, out var waiting) && StructureCodec.Decode(_pending[waiting].Payload) is { } pending && pending.Structure.Size == size)
            return pending.Structure;
        if (!_index.TryGetValue(IndexKey(key), out var at) || _reader is null)
            return null;
        // A pooled buffer: every message of a folder's second metadata FETCH comes through here.
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(at.Length);
        try
        {
            if (RandomAccess.Read(_reader, buffer.AsSpan(0, at.Length), at.Offset) != at.Length)
                return null;
            return StructureCodec.Decode(buffer.AsSpan(0, at.Length)) is { } record && record.Key == key && record.Structure.Size == size ? record.Structure : null;
        }
        catch (IOException)
        {
            return null;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ulong IndexKey(string key) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(key.AsSpan()));

    private byte[]? Read(long offset, int length)
    {
        if (_reader is null)
            return null;
        try
        {
            var bytes = new byte[length];
            return RandomAccess.Read(_reader, bytes, offset) == length ? bytes : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void OpenReader(string path)
    {
        CloseReader();
        _reader = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        _readerInode = Libc.Stamp(_reader).Inode;
    }

    private void CloseReader()
    {
        _reader?.Dispose();
        (_reader, _readerInode) = (null, 0);
    }

    private void Forget()
    {
        CloseReader();
        _scanned = 0;
        _index.Clear();
        _records = 0;
    }

    /// <summary>
    /// Reads the file from where the index ends, adding each whole, valid record; stops at a torn or
    /// bad one. One statx(2) when nothing changed; a file replaced under the name (another process
    /// rewrote it) is read anew.
    /// </summary>
    private void Scan()
    {
        if (_scanned < 0)
            return;
        byte[] bytes;
        try
        {
            if (Libc.Stamp(_path) is not { } now)
            {
                // No file (yet): each miss of a folder's first pass asks, so no exception for it.
                Forget();
                return;
            }
            if (_reader is null || now.Inode != _readerInode || now.Size < _scanned)
            {
                OpenReader(_path);
                _scanned = 0;
            }
            var length = RandomAccess.GetLength(_reader!);
            if (length == _scanned)
                return;
            bytes = new byte[length - _scanned];
            if (RandomAccess.Read(_reader!, bytes, _scanned) != bytes.Length)
                return; // cut meanwhile: read again next time
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            Forget();
            return;
        }
        var at = 0;
        if (_scanned == 0)
        {
            _index.Clear();
            _records = 0;
            var header = Encoding.ASCII.GetBytes(_header);
            if (!bytes.AsSpan().StartsWith(header))
            {
                (_needsRewrite, _scanned) = (true, -1); // garbled, another version or other limits: replaced at the next write
                return;
            }
            at = header.Length;
        }
        while (at < bytes.Length)
        {
            var lf = Array.IndexOf(bytes, (byte)'\n', at, Math.Min(bytes.Length - at, 32));
            var fields = lf < 0 ? [] : Encoding.ASCII.GetString(bytes, at, lf - at).Split(' ');
            if (fields.Length != 3 || fields[0] != "R" || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                || length > MaxRecordBytes || !uint.TryParse(fields[2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var crc)
                || lf + 1 + length >= bytes.Length || bytes[lf + 1 + length] != (byte)'\n'
                || Crc32.HashToUInt32(bytes.AsSpan(lf + 1, length)) != crc || StructureCodec.Key(bytes.AsSpan(lf + 1, length)) is not { } key)
            {
                _needsRewrite = true; // a torn tail or a bad record: what follows is not trusted
                break;
            }
            _index[IndexKey(key)] = (_scanned + lf + 1, length);
            _records++;
            at = lf + 1 + length + 1;
        }
        _scanned += at;
    }
}
