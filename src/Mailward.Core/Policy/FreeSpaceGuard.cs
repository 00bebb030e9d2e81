// The free-space guard at the door (Postfix's queue_minfree): mail is refused with 452 4.3.1 at
// MAIL and DATA while the queue's or the mail store's file system has less than Queue:MinFreeBytes
// free (plus the size a client declares), so a full disk defers mail instead of failing it later.
// One statvfs per file system at most once a second keeps it off the hot path.
namespace Mailward.Core.Policy;

public sealed class FreeSpaceGuard
{
    private static readonly TimeSpan Fresh = TimeSpan.FromSeconds(1);

    private readonly string[] _paths;
    private readonly long _minFree;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private long _measuredAt;
    private long _free = long.MaxValue;
    private bool _measured;

    /// <param name="paths">Folders on the file systems to watch (the queue, the mail store).</param>
    /// <param name="minFreeBytes">Space that must stay free; 0 turns the guard off.</param>
    public FreeSpaceGuard(IEnumerable<string> paths, long minFreeBytes, TimeProvider? time = null)
    {
        _paths = [.. paths];
        _minFree = minFreeBytes;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>True when a message of <paramref name="bytes"/> (0: size unknown) leaves Queue:MinFreeBytes free.</summary>
    public bool HasRoomFor(long bytes) => _minFree <= 0 || FreeBytes() - Math.Max(0, bytes) >= _minFree;

    /// <summary>The least free space of the watched file systems, measured at most once a second.</summary>
    public long FreeBytes()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_measured && _time.GetElapsedTime(_measuredAt, now) < Fresh)
                return _free;
            var free = long.MaxValue;
            foreach (var path in _paths)
                if (Measure(path) is { } f)
                    free = Math.Min(free, f);
            (_free, _measuredAt, _measured) = (free, now, true);
            return free;
        }
    }

    /// <summary>statvfs of the nearest existing folder; null when it cannot be measured (never refuse mail on a failed stat).</summary>
    private static long? Measure(string path)
    {
        try
        {
            var dir = Path.GetFullPath(path);
            while (!Directory.Exists(dir) && Path.GetDirectoryName(dir) is { } parent)
                dir = parent;
            return new DriveInfo(dir).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
