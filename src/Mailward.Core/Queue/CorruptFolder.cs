// queue/corrupt/: where start-up recovery saves what it found damaged before it changes anything
// (Postfix's corrupt/ queue). Only written, never read back by Mailward: it is the admin's.
using System.Globalization;

namespace Mailward.Core.Queue;

internal sealed class CorruptFolder(string queueDir, TimeProvider time)
{
    public string Path { get; } = System.IO.Path.Combine(queueDir, "corrupt");

    /// <summary>
    /// Copies a range of a segment to corrupt/NAME, fsynced, and notes it in corrupt/log; true when
    /// the copy is there (now, or from an earlier start). Never throws for an I/O failure.
    /// </summary>
    public bool TrySaveRange(QueueDamage range, string kind, out string? error)
    {
        error = null;
        var target = System.IO.Path.Combine(Path, range.SavedName(kind));
        try
        {
            if (File.Exists(target) && new FileInfo(target).Length == range.Length)
                return true; // saved at an earlier start: the damage is still in the segment
            EnsureFolder();
            var temp = target + ".tmp";
            using (var from = File.OpenHandle(range.Segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var to = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                var buffer = new byte[1 << 16];
                for (var at = range.Start; at < range.End;)
                {
                    var n = RandomAccess.Read(from, buffer.AsSpan(0, (int)Math.Min(buffer.Length, range.End - at)), at);
                    if (n <= 0)
                        break;
                    to.Write(buffer, 0, n);
                    at += n;
                }
                to.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
            Fsync.Directory(Path);
            Note($"{kind} {range}; saved as {System.IO.Path.GetFileName(target)}");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"could not save {range.SavedName(kind)} to {Path}: {e.Message}";
            return false;
        }
    }

    /// <summary>Moves a body file no record names into corrupt/ID.body, for an admin to re-inject; false on failure.</summary>
    public bool TryKeepBody(string bodyFile, out string? error)
    {
        error = null;
        var id = System.IO.Path.GetFileName(bodyFile);
        try
        {
            EnsureFolder();
            File.Move(bodyFile, System.IO.Path.Combine(Path, id + ".body"), overwrite: true);
            Fsync.Directory(Path);
            Note($"body {id}: no valid message record names it (damage was found); moved here as {id}.body");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"could not move body file {id} to {Path}: {e.Message}";
            return false;
        }
    }

    private void EnsureFolder() =>
        Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    private void Note(string line)
    {
        using var log = new FileStream(System.IO.Path.Combine(Path, "log"), new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        var text = time.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) + " " + line + "\n";
        log.Write(System.Text.Encoding.UTF8.GetBytes(text));
        log.Flush(flushToDisk: true);
    }
}
