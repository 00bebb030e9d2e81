// The UID list of one Maildir folder (docs/mail-store.md "The UID list"): UIDVALIDITY, UIDNEXT and
// one line per message keyed by its name up to ':'. Framed (magic, version, count, CRC-32 end
// marker); rewritten whole: tmp, fsync, rename, fsync the folder, so a reader sees the old list or
// the new one, never a torn one.
using System.Globalization;
using System.IO.Hashing;
using System.Text;
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
        var body = bytes[..bodyLength];
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
        var lines = text.Split('\n');
        var header = lines[0].Split(' ');
        if (header.Length != 5 || header[0] != "MWUIDLIST" || header[1] is not ("1" or "2") || !Number(header[2], 'V', out var validity) || validity == 0
            || !Number(header[3], 'N', out var next) || !Number(header[4], 'C', out var count) || lines.Length != count + 2)
            return null;
        var list = new UidList((uint)validity, (uint)next);
        long previous = 0;
        for (var i = 1; i <= count; i++)
        {
            var line = lines[i];
            var colon = line.IndexOf(" :", StringComparison.Ordinal);
            if (line.Length > MaxLine || colon <= 0)
                return null;
            var fields = line[..colon].Split(' ');
            if (!uint.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid) || uid <= previous || uid >= next)
                return null;
            long? w = null;
            string? uidl = null;
            var at = 1;
            if (at < fields.Length && Number(fields[at], 'W', out var vsize))
            {
                w = vsize;
                at++;
            }
            if (at < fields.Length && header[1] == "2" && fields[at].StartsWith('P') && IsPop3Uidl(fields[at][1..]))
                uidl = fields[at++][1..];
            if (at != fields.Length)
                return null;
            var key = line[(colon + 2)..];
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

    public byte[] Render()
    {
        var sb = new StringBuilder(64 + Entries.Count * 80);
        // Version 1 unless a line needs the P field, so such a list stays readable by an older Mailward.
        var version = Entries.Keys.Any(Pop3Uidls.ContainsKey) ? 2 : 1;
        sb.Append(CultureInfo.InvariantCulture, $"MWUIDLIST {version} V{UidValidity} N{UidNext} C{Entries.Count}\n");
        foreach (var (key, (uid, w)) in Entries.OrderBy(e => e.Value.Uid))
        {
            sb.Append(uid.ToString(CultureInfo.InvariantCulture));
            if (w is { } v)
                sb.Append(CultureInfo.InvariantCulture, $" W{v}");
            if (Pop3Uidls.TryGetValue(key, out var uidl))
                sb.Append(" P").Append(uidl);
            sb.Append(" :").Append(key).Append('\n');
        }
        return FramedText.Frame(Encoding.UTF8.GetBytes(sb.ToString()));
    }

    /// <summary>Steps 1 and 2 of the rewrite: tmp, fsync, rename, fsync the folder. The caller holds the guard.</summary>
    public void Write(string folder) => FramedText.Write(folder, FileName, Render());

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
