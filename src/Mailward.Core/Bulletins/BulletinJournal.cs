// The journal of one bulletin (docs/bulletin-format.md): a header line, a D line per user whose copy
// is staged and about to be published, an F line when finished; each line ends with its CRC-32 and
// a line feed. Opening finds the journal of a content (resumes the unfinished one, reports the
// finished one), cuts a torn tail, refuses damage, and holds flock on the file while it is used.
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Configuration;
using Mailward.Core.Posix;
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.Bulletins;

/// <summary>A D line: the copy for this address is fsynced as tmp/TmpName and goes to new/FinalName.</summary>
public sealed record BulletinDelivered(string Address, string TmpName, string FinalName);

/// <summary>How opening the journal of a content went.</summary>
public enum BulletinStart
{
    New,
    Resumed,

    /// <summary>The bulletin of this content finished before; it goes on to users without a D line (--again starts a new one).</summary>
    Continued,
}

public sealed class BulletinJournal : IDisposable
{
    public const string Magic = "mailward-bulletin";
    public const int Version = 1;
    public const int MaxLine = 4096;

    private readonly FileStream _file;
    private readonly Dictionary<string, BulletinDelivered> _delivered;

    private BulletinJournal(string path, FileStream file, string digest, DateTimeOffset created, long bytes,
        Dictionary<string, BulletinDelivered> delivered, DateTimeOffset? finishedAt, int finishedCount)
    {
        Path = path;
        _file = file;
        Digest = digest;
        Created = created;
        Bytes = bytes;
        _delivered = delivered;
        FinishedAt = finishedAt;
        FinishedCount = finishedCount;
    }

    public string Path { get; }
    public string Digest { get; }
    public DateTimeOffset Created { get; }
    public long Bytes { get; }
    public DateTimeOffset? FinishedAt { get; private set; }
    public int FinishedCount { get; private set; }

    /// <summary>The D lines so far, by address.</summary>
    public IReadOnlyDictionary<string, BulletinDelivered> Delivered => _delivered;

    /// <summary>The first 16 hex digits of the digest: part of the journal's and the copies' names.</summary>
    public string Digest16 => Digest[..16];

    public static string FolderOf(string dataPath) => System.IO.Path.Combine(dataPath, "bulletins");

    /// <summary>
    /// The journal for content <paramref name="digest"/>: its unfinished journal (resumed), else
    /// — unless <paramref name="again"/> — its finished one (<see cref="BulletinStart.Continued"/>),
    /// else a new one created at <paramref name="now"/>. The journal returned is locked.
    /// </summary>
    public static (BulletinStart Start, BulletinJournal Journal) Open(string folder, string digest, long bytes, DateTimeOffset now, bool again)
    {
        Directory.CreateDirectory(folder, DataFolderModes.PrivateFolder);
        var candidates = new List<BulletinJournal>();
        try
        {
            foreach (var path in Directory.GetFiles(folder, digest[..16] + "-*.journal").Order(StringComparer.Ordinal))
            {
                if (TryLoad(path, digest) is { } j)
                    candidates.Add(j);
            }
            var unfinished = candidates.LastOrDefault(j => j.FinishedAt is null);
            var finished = candidates.LastOrDefault(j => j.FinishedAt is not null);
            var chosen = unfinished is not null ? (BulletinStart.Resumed, unfinished)
                : finished is not null && !again ? (BulletinStart.Continued, finished)
                : (BulletinStart.New, Create(folder, digest, bytes, now));
            foreach (var other in candidates.Where(c => c != chosen.Item2))
                other.Dispose();
            return chosen;
        }
        catch
        {
            foreach (var c in candidates)
                c.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The journal at <paramref name="path"/>, locked, when it belongs to <paramref name="digest"/>;
    /// null when it is another content's or holds no header (a run that died before its first
    /// fsync: it is removed). A torn tail is cut; damage throws.
    /// </summary>
    private static BulletinJournal? TryLoad(string path, string digest)
    {
        FileStream file;
        try
        {
            // open(2) itself: FileStream's own advisory lock would refuse a locked journal with no way to tell why.
            file = new FileStream(Libc.Open(path, Libc.ORdWr), FileAccess.ReadWrite);
        }
        catch (IOException e) when (e.HResult == Libc.ENoEnt)
        {
            return null; // removed meanwhile (a header-less journal of another run)
        }
        catch (IOException e)
        {
            throw new AccountException(AccountError.StorageFailed, $"cannot open the bulletin journal {path}: {e.Message}");
        }
        try
        {
            if (!Libc.TryLockExclusive(file.SafeFileHandle))
                throw new AccountException(AccountError.StorageFailed, $"this bulletin is being delivered by another run (its journal {path} is locked)");
            var bytes = new byte[file.Length];
            file.ReadExactly(bytes);
            var lines = ParseLines(bytes, out var validLength, out var damaged);
            if (lines.Count == 0 || lines[0].Length != 5 || lines[0][0] != Magic)
            {
                if (damaged)
                    throw Damage(path);
                file.Dispose();
                File.Delete(path); // no header: nothing was ever staged under it
                return null;
            }
            var h = lines[0];
            if (h[1] != Version.ToString(CultureInfo.InvariantCulture))
                throw new AccountException(AccountError.StorageFailed, $"bulletin journal {path} has format version {h[1]}; this program reads {Version}");
            if (h[2] != digest)
            {
                file.Dispose();
                return null;
            }
            if (damaged)
                throw Damage(path);
            var delivered = new Dictionary<string, BulletinDelivered>(StringComparer.Ordinal);
            DateTimeOffset? finishedAt = null;
            var finishedCount = 0;
            foreach (var f in lines.Skip(1))
            {
                if (f[0] == "D" && f.Length == 4)
                    delivered[f[1]] = new BulletinDelivered(f[1], f[2], f[3]);
                else if (f[0] == "F" && f.Length == 3)
                {
                    finishedAt = DateTimeOffset.FromUnixTimeSeconds(long.Parse(f[1], CultureInfo.InvariantCulture));
                    finishedCount = int.Parse(f[2], CultureInfo.InvariantCulture);
                }
                else
                    throw Damage(path);
            }
            if (validLength < bytes.Length)
            {
                // A torn tail: an append that a crash cut short. Its users were never published.
                file.SetLength(validLength);
                file.Flush(flushToDisk: true);
            }
            file.Seek(0, SeekOrigin.End);
            return new BulletinJournal(path, file, h[2], DateTimeOffset.FromUnixTimeSeconds(long.Parse(h[3], CultureInfo.InvariantCulture)),
                long.Parse(h[4], CultureInfo.InvariantCulture), delivered, finishedAt, finishedCount);
        }
        catch (FormatException)
        {
            file.Dispose();
            throw Damage(path);
        }
        catch (OverflowException)
        {
            file.Dispose();
            throw Damage(path);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static AccountException Damage(string path) => new(AccountError.StorageFailed,
        $"bulletin journal {path} is damaged (a bad line before good ones); not continuing it: --again starts a new bulletin (docs/bulletin-format.md)");

    /// <summary>
    /// The records of a journal's bytes, each as its fields without the CRC. Parsing stops at the
    /// first line that is not a record; <paramref name="damaged"/> tells whether a record follows it.
    /// </summary>
    internal static List<string[]> ParseLines(ReadOnlySpan<byte> bytes, out int validLength, out bool damaged)
    {
        var records = new List<string[]>();
        validLength = 0;
        damaged = false;
        var at = 0;
        while (at < bytes.Length)
        {
            var nl = bytes[at..].IndexOf((byte)'\n');
            var fields = nl < 0 || nl > MaxLine ? null : ParseLine(bytes.Slice(at, nl));
            if (fields is null)
            {
                // Not a record: a torn tail unless a valid record comes after it.
                var rest = bytes[at..];
                var next = rest.IndexOf((byte)'\n');
                while (next >= 0 && !damaged)
                {
                    rest = rest[(next + 1)..];
                    var end = rest.IndexOf((byte)'\n');
                    if (end >= 0 && end <= MaxLine && ParseLine(rest[..end]) is not null)
                        damaged = true;
                    next = end;
                }
                return records;
            }
            records.Add(fields);
            at += nl + 1;
            validLength = at;
        }
        return records;
    }

    /// <summary>The fields of one line (without its line feed) when its CRC checks out; null otherwise.</summary>
    private static string[]? ParseLine(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
            if (b is < 0x20 or > 0x7E)
                return null;
        var lastSpace = line.LastIndexOf((byte)' ');
        if (lastSpace <= 0 || line.Length - lastSpace - 1 != 8)
            return null;
        if (!uint.TryParse(Encoding.ASCII.GetString(line[(lastSpace + 1)..]), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var crc)
            || Crc32.HashToUInt32(line[..lastSpace]) != crc)
            return null;
        return Encoding.ASCII.GetString(line[..lastSpace]).Split(' ');
    }

    /// <summary>One record line: the fields, a space, the CRC of what precedes it, a line feed.</summary>
    internal static byte[] Line(params string[] fields)
    {
        foreach (var f in fields)
            if (f.Length == 0 || f.Any(c => c is <= ' ' or > '~'))
                throw new ArgumentException($"a bulletin journal field must be printable ASCII without spaces: '{f}'");
        var body = Encoding.ASCII.GetBytes(string.Join(' ', fields));
        var line = Encoding.ASCII.GetBytes($"{Encoding.ASCII.GetString(body)} {Crc32.HashToUInt32(body):x8}\n");
        return line.Length > MaxLine ? throw new ArgumentException("bulletin journal line too long") : line;
    }

    private static BulletinJournal Create(string folder, string digest, long bytes, DateTimeOffset now)
    {
        var created = now.ToUnixTimeSeconds();
        while (true)
        {
            var path = System.IO.Path.Combine(folder, $"{digest[..16]}-{created}.journal");
            FileStream file;
            try
            {
                file = new FileStream(Libc.Open(path, Libc.ORdWr | Libc.OCreat | Libc.OExcl, UnixFileMode.UserRead | UnixFileMode.UserWrite), FileAccess.ReadWrite);
            }
            catch (IOException e) when (e.HResult == Libc.EExist)
            {
                created++; // --again twice within a second: the next second's name
                continue;
            }
            try
            {
                if (!Libc.TryLockExclusive(file.SafeFileHandle))
                    throw new AccountException(AccountError.StorageFailed, $"bulletin journal {path} is locked by another run");
                file.Write(Line(Magic, Version.ToString(CultureInfo.InvariantCulture), digest, created.ToString(CultureInfo.InvariantCulture),
                    bytes.ToString(CultureInfo.InvariantCulture)));
                file.Flush(flushToDisk: true);
                using (SafeFileHandle dir = Libc.Open(folder, Libc.ORdOnly | Libc.ODirectory))
                    Libc.Fsync(dir);
                return new BulletinJournal(path, file, digest, DateTimeOffset.FromUnixTimeSeconds(created), bytes,
                    new Dictionary<string, BulletinDelivered>(StringComparer.Ordinal), null, 0);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
    }

    /// <summary>Appends the D lines of a batch and fsyncs them: the commit point of every copy in it.</summary>
    public void Commit(IReadOnlyList<BulletinDelivered> batch)
    {
        if (batch.Count == 0)
            return;
        using var buffer = new MemoryStream();
        foreach (var d in batch)
            buffer.Write(Line("D", d.Address, d.TmpName, d.FinalName));
        _file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        _file.Flush(flushToDisk: true);
        foreach (var d in batch)
            _delivered[d.Address] = d;
    }

    /// <summary>The F line: every user this run covered has a D line.</summary>
    public void Finish(DateTimeOffset at, int count)
    {
        _file.Write(Line("F", at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture)));
        _file.Flush(flushToDisk: true);
        FinishedAt = at;
        FinishedCount = count;
    }

    public void Dispose() => _file.Dispose(); // closing the file releases the flock
}
