// The pickup folder <data>/pickup (docs/pickup-format.md): where sendmail leaves a submission
// record when no server answers, written to tmp/, fsynced, renamed into new/ and new/ fsynced
// before sendmail exits 0; read, removed or set aside in corrupt/ by the server's drain.
using Mailward.Core.Posix;
using Mailward.Core.Queue;

namespace Mailward.Core.Sendmail;

public sealed class PickupFolder(string path)
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string Path { get; } = System.IO.Path.GetFullPath(path);
    public string New => System.IO.Path.Combine(Path, "new");
    public string Tmp => System.IO.Path.Combine(Path, "tmp");
    public string Corrupt => System.IO.Path.Combine(Path, "corrupt");

    public static PickupFolder In(string dataPath) => new(System.IO.Path.Combine(dataPath, "pickup"));

    /// <summary>Creates the folders (0700); <paramref name="owner"/> given: made theirs (root creating them for the server's user).</summary>
    public void Create(uint? owner = null)
    {
        foreach (var dir in new[] { Path, Tmp, New, Corrupt })
        {
            if (Directory.Exists(dir))
                continue;
            Directory.CreateDirectory(dir, Private);
            if (owner is { } uid)
            {
                using var h = Libc.Open(dir, Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
                Libc.Fchown(h, uid, uint.MaxValue); // (gid_t)-1: group unchanged
            }
        }
    }

    /// <summary>
    /// Writes the record as tmp/ID, fsyncs it, renames it to new/ID and fsyncs new/: durable when this
    /// returns (docs/pickup-format.md, "Writing"). <paramref name="owner"/>: give the file to that user.
    /// </summary>
    public string Write(SendmailRequest request, uint? owner = null)
    {
        var record = PickupRecord.Write(request);
        var tmp = System.IO.Path.Combine(Tmp, request.Id);
        var final = System.IO.Path.Combine(New, request.Id);
        try
        {
            using (var h = Libc.Open(tmp, Libc.OWrOnly | Libc.OCreat | Libc.OExcl | Libc.ONoFollow, UnixFileMode.UserRead | UnixFileMode.UserWrite))
            {
                if (owner is { } uid)
                    Libc.Fchown(h, uid, uint.MaxValue);
                using var f = new FileStream(h, FileAccess.Write);
                f.Write(record);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, final, overwrite: false);
            Fsync.Directory(New);
            return final;
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>The complete files waiting, oldest first (ids sort by time).</summary>
    public IReadOnlyList<string> Waiting() =>
        Directory.Exists(New)
            ? Directory.GetFiles(New).Select(System.IO.Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Reads new/<paramref name="name"/>: the request, or what is wrong with the file.</summary>
    public (SendmailRequest? Request, string? Damage) Read(string name, long maxPayload)
    {
        if (!SendmailRequest.IsValidId(name))
            return (null, "not a submission id for a name");
        byte[] bytes;
        try
        {
            using var h = Libc.Open(System.IO.Path.Combine(New, name), Libc.ORdOnly | Libc.ONoFollow);
            var facts = Libc.Facts(h);
            if (!facts.IsRegularFile || facts.Links != 1)
                return (null, "not a regular file with one link");
            using var f = new FileStream(h, FileAccess.Read);
            if (f.Length > maxPayload + PickupRecord.HeaderSize + PickupRecord.TrailerSize)
                return (null, $"larger than any record ({f.Length} bytes)");
            bytes = new byte[f.Length];
            f.ReadExactly(bytes);
        }
        catch (IOException e)
        {
            return (null, "unreadable: " + e.Message);
        }
        try
        {
            var request = PickupRecord.Read(bytes, maxPayload);
            return request.Id == name ? (request, null) : (null, "the record's id is not the file's name");
        }
        catch (InvalidDataException e)
        {
            return (null, e.Message);
        }
    }

    /// <summary>Removes new/<paramref name="name"/> and fsyncs new/ (the drain's before-delivery step).</summary>
    public void Remove(string name)
    {
        File.Delete(System.IO.Path.Combine(New, name));
        Fsync.Directory(New);
    }

    /// <summary>Moves a file the drain will not queue to corrupt/, with a line in corrupt/log saying why.</summary>
    public void SetAside(string name, string reason, DateTimeOffset now)
    {
        Directory.CreateDirectory(Corrupt, Private);
        File.Move(System.IO.Path.Combine(New, name), System.IO.Path.Combine(Corrupt, name), overwrite: true);
        File.AppendAllText(System.IO.Path.Combine(Corrupt, "log"), $"{now.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} {name}: {reason.ReplaceLineEndings(" ")}\n");
        Fsync.Directory(Corrupt);
        Fsync.Directory(New);
    }

    /// <summary>tmp/ files older than <paramref name="age"/>: sendmails that died before their rename (none exited 0).</summary>
    public int RemoveStaleTemp(TimeSpan age, DateTimeOffset now)
    {
        if (!Directory.Exists(Tmp))
            return 0;
        var removed = 0;
        foreach (var f in Directory.GetFiles(Tmp))
            if (now - File.GetLastWriteTimeUtc(f) > age && TryDelete(f))
                removed++;
        return removed;
    }

    /// <summary>Null when the folder is owner-only and <paramref name="uid"/>'s; else what is wrong (the drain then reads nothing).</summary>
    public string? CheckPrivate(uint uid)
    {
        using var h = Libc.Open(Path, Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
        var facts = Libc.Facts(h);
        if (facts.Owner != uid)
            return $"{Path} belongs to uid {facts.Owner}, not to this server's uid {uid}";
        return (facts.Mode & (UnixFileMode)0b000_111_111) != 0 ? $"{Path} is mode {Convert.ToString((int)facts.Mode, 8)}, not 0700" : null;
    }

    private static bool TryDelete(string f)
    {
        try
        {
            File.Delete(f);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
