// The UID list of one Maildir folder (docs/mail-store.md "The UID list"): UIDVALIDITY, UIDNEXT and
// one line per message keyed by its name up to ':'. Framed (magic, version, count, CRC-32 end
// marker); rewritten whole: tmp, fsync, rename, fsync the folder, so a reader sees the old list or
// the new one, never a torn one.
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore.Maildir;

public sealed class UidList
{
    public const string FileName = "mailward-uidlist";
    public const string GuardName = "mailward-uidlist.guard";
    private const int MaxLine = 1024;

    public uint UidValidity { get; }
    public uint UidNext { get; private set; }

    /// <summary>Key (name up to ':') → UID and, for a name without ,W=, the counted CRLF size.</summary>
    public Dictionary<string, (uint Uid, long? VirtualSize)> Entries { get; } = new(StringComparer.Ordinal);

    /// <summary>Key → the POP3 UIDL another server gave the message (the P field, version 2), kept at takeover.</summary>
    public Dictionary<string, string> Pop3Uidls { get; } = new(StringComparer.Ordinal);

    /// <summary>A P field's value: 1–255 characters 0x21–0x7E (docs/mail-store.md).</summary>
    public static bool IsPop3Uidl(string value) => value.Length is > 0 and <= 255 && !value.AsSpan().ContainsAnyExceptInRange('!', '~');

    public UidList(uint uidValidity, uint uidNext)
    {
        UidValidity = uidValidity;
        UidNext = uidNext;
    }

    public uint Assign(string key, long? virtualSize)
    {
        var uid = UidNext++;
        Entries[key] = (uid, virtualSize);
        return uid;
    }

    /// <summary>The key's entry; a key without one is given the next UID and <paramref name="virtualSize"/>'s size (one hash of the key either way).</summary>
    public (uint Uid, long? VirtualSize) GetOrAssign<TState>(string key, TState state, Func<TState, string, long?> virtualSize)
    {
        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(Entries, key, out var exists);
        if (!exists)
            slot = (UidNext++, virtualSize(state, key));
        return slot;
    }

    public enum ReadOutcome
    {
        Ok,
        Missing,
        Garbled,
    }

    public static (UidList? List, ReadOutcome Outcome) Read(string folder)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(Path.Combine(folder, FileName));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return (null, ReadOutcome.Missing);
        }
        var list = Parse(bytes);
        return (list, list is null ? ReadOutcome.Garbled : ReadOutcome.Ok);
    }

    /// <summary>The list in these bytes; null unless every part of the format checks out.</summary>
    public static UidList? Parse(ReadOnlySpan<byte> bytes)
    {
        var bodyLength = FramedText.BodyLength(bytes);
        if (bodyLength < 0)
            return null;
        // Read from the bytes: a 100,000-line list makes one string per line's key and nothing else.
        var body = bytes[..bodyLength];
        if (!Utf8.IsValid(body))
            return null;
        var firstEnd = body.IndexOf((byte)'\n');
        if (firstEnd < 0)
            return null;
        var header = Encoding.ASCII.GetString(body[..firstEnd]).Split(' ');
        if (header.Length != 5 || header[0] != "MWUIDLIST" || header[1] is not ("1" or "2") || !Number(header[2], 'V', out var validity) || validity == 0
            || !Number(header[3], 'N', out var next) || !Number(header[4], 'C', out var count) || body.Count((byte)'\n') != count + 1)
            return null;
        var withUidls = header[1] == "2";
        var list = new UidList((uint)validity, (uint)next);
        list.Entries.EnsureCapacity((int)count);
        long previous = 0;
        var rest = body[(firstEnd + 1)..];
        Span<Range> parts = stackalloc Range[4];
        for (var i = 1; i <= count; i++)
        {
            var end = rest.IndexOf((byte)'\n');
            var line = rest[..end];
            rest = rest[(end + 1)..];
            var colon = line.IndexOf(" :"u8);
            if (line.Length > MaxLine || colon <= 0)
                return null;
            // The fields before " :", as Split(' ') gives them (an empty one is an error).
            var fields = line[..colon];
            var n = 0;
            foreach (var range in fields.Split((byte)' '))
            {
                if (n == parts.Length)
                    return null;
                parts[n++] = range;
            }
            if (!uint.TryParse(fields[parts[0]], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) || uid <= previous || uid >= next)
                return null;
            long? w = null;
            string? uidl = null;
            var at = 1;
            if (at < n && Number(fields[parts[at]], (byte)'W', out var vsize))
            {
                w = vsize;
                at++;
            }
            if (at < n && withUidls && fields[parts[at]] is [(byte)'P', .. var p] && Encoding.ASCII.GetString(p) is var candidate
                && IsPop3Uidl(candidate))
            {
                uidl = candidate;
                at++;
            }
            if (at != n)
                return null;
            var key = Encoding.UTF8.GetString(line[(colon + 2)..]);
            if (key.Length == 0 || !list.Entries.TryAdd(key, (uid, w)))
                return null;
            if (uidl is not null)
                list.Pop3Uidls[key] = uidl;
            previous = uid;
        }
        return list;
    }

    private static bool Number(string field, char tag, out long value)
    {
        value = 0;
        return field.Length > 1 && field[0] == tag && long.TryParse(field.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out value)
            && value <= uint.MaxValue;
    }

    private static bool Number(ReadOnlySpan<byte> field, byte tag, out long value)
    {
        value = 0;
        return field.Length > 1 && field[0] == tag && long.TryParse(field[1..], NumberStyles.None, CultureInfo.InvariantCulture, out value)
            && value <= uint.MaxValue;
    }

    public byte[] Render() => RenderFramed().WrittenSpan.ToArray();

    /// <summary>The list's text with its end line, in the buffer it was written to (no copy of a first open's 3 MB).</summary>
    private ArrayBufferWriter<byte> RenderFramed()
    {
        // Version 1 unless a line needs the P field, so such a list stays readable by an older Mailward.
        var version = Pop3Uidls.Count > 0 && Entries.Keys.Any(Pop3Uidls.ContainsKey) ? 2 : 1;
        // In UID order; a list only ever added to enumerates so already, and is then written as it
        // enumerates, with no array of its lines.
        var sorted = true;
        var previous = 0u;
        var (room, longest) = (0L, 0);
        foreach (var (key, (uid, w)) in Entries)
        {
            sorted &= uid > previous;
            previous = uid;
            room += key.Length + 13 + (w is null ? 0 : 22); // "UID[ WSIZE] :KEY\n"
            longest = Math.Max(longest, key.Length);
        }
        room += 256 + 3 * longest; // the header, and what the last line's spans ask for beyond what it writes
        IEnumerable<KeyValuePair<string, (uint Uid, long? VirtualSize)>> lines = Entries;
        if (!sorted)
        {
            var uids = new uint[Entries.Count];
            var ordered = new KeyValuePair<string, (uint Uid, long? VirtualSize)>[Entries.Count];
            var i = 0;
            foreach (var entry in Entries)
                (uids[i], ordered[i++]) = (entry.Value.Uid, entry);
            Array.Sort(uids, ordered);
            lines = ordered;
        }
        // Sized for ASCII keys and no P field (it grows for more): the 100,000 lines of a first open
        // fit without a copy, and without a buffer twice their size.
        var text = new ArrayBufferWriter<byte>((int)Math.Min(Array.MaxLength, room));
        Write(text, string.Create(CultureInfo.InvariantCulture, $"MWUIDLIST {version} V{UidValidity} N{UidNext} C{Entries.Count}\n"));
        foreach (var (key, (uid, w)) in lines)
        {
            var span = text.GetSpan(64);
            uid.TryFormat(span, out var n, default, CultureInfo.InvariantCulture);
            if (w is { } v)
            {
                " W"u8.CopyTo(span[n..]);
                n += 2;
                v.TryFormat(span[n..], out var m, default, CultureInfo.InvariantCulture);
                n += m;
            }
            text.Advance(n);
            if (Pop3Uidls.Count > 0 && Pop3Uidls.TryGetValue(key, out var uidl))
            {
                text.Write(" P"u8);
                Write(text, uidl);
            }
            text.Write(" :"u8);
            Write(text, key);
            text.Write("\n"u8);
        }
        FramedText.AppendEnd(text);
        return text;
    }

    private static void Write(ArrayBufferWriter<byte> to, string text) =>
        to.Advance(Encoding.UTF8.GetBytes(text, to.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length))));

    /// <summary>Steps 1 and 2 of the rewrite: tmp, fsync, rename, fsync the folder. The caller holds the guard.</summary>
    public void Write(string folder) => FramedText.Write(folder, FileName, RenderFramed().WrittenSpan);

    /// <summary>
    /// Keeps a garbled list for the admin before a new one replaces it; returns its UIDVALIDITY when
    /// its first line still says it, so the new one can be chosen above it.
    /// </summary>
    public static uint? SetAsideGarbled(string folder)
    {
        var path = Path.Combine(folder, FileName);
        uint? validity = null;
        try
        {
            using (var reader = new StreamReader(path))
            {
                var header = new char[64];
                var n = reader.ReadBlock(header);
                var fields = new string(header, 0, n).Split('\n')[0].Split(' ');
                if (fields.Length > 2 && fields[0] == "MWUIDLIST" && Number(fields[2], 'V', out var v))
                    validity = (uint)v;
            }
            File.Move(path, Path.Combine(folder, FileName + ".garbled"), overwrite: true);
        }
        catch (FileNotFoundException)
        {
        }
        return validity;
    }
}
