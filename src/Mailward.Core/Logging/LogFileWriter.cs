// Writes log lines to one file per UTC day in the log folder (mailward-YYYY-MM-DD.log, 0600) and
// deletes the days past the retention, as multilog did (docs/log-format.md). A line is handed to a
// bounded buffer and written by one background task, so logging never waits for a disk: when the
// buffer is full the line is dropped and counted, and a line saying how many follows.
using System.Globalization;
using System.Threading.Channels;
using Mailward.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace Mailward.Core.Logging;

public sealed class LogFileWriter : IDisposable
{
    public const string FilePrefix = "mailward-", FileSuffix = ".log";
    private const string DayFormat = "yyyy-MM-dd";

    private readonly Channel<(DateTimeOffset At, string Line)> _lines;
    private readonly int _retentionDays;
    private readonly TimeProvider _time;
    private readonly Task _run;
    private long _dropped;
    private long _droppedUnreported;
    private StreamWriter? _file;
    private DateOnly _day;

    /// <summary>
    /// A writer into <paramref name="folder"/> (made owner-only if new) that keeps the last
    /// <paramref name="retentionDays"/> days (0: all). <paramref name="startGate"/> holds the
    /// background task back until it completes (tests fill the buffer with it).
    /// </summary>
    public LogFileWriter(string folder, int retentionDays, int bufferLines, TimeProvider? time = null, Task? startGate = null)
    {
        Folder = folder;
        _retentionDays = retentionDays;
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(folder, DataFolderModes.PrivateFolder);
        _lines = Channel.CreateBounded<(DateTimeOffset, string)>(new BoundedChannelOptions(bufferLines)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then says false when full: the line is counted as dropped
        });
        Prune(DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime));
        _run = Task.Run(() => RunAsync(startGate ?? Task.CompletedTask));
    }

    public string Folder { get; }

    /// <summary>Lines dropped since the start because the buffer was full or a write failed.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>The file for a UTC day.</summary>
    public static string FileName(DateOnly day) => FilePrefix + day.ToString(DayFormat, CultureInfo.InvariantCulture) + FileSuffix;

    /// <summary>The UTC day a log file's name stands for; false for any other file.</summary>
    public static bool TryParseFileName(string path, out DateOnly day)
    {
        var name = Path.GetFileName(path);
        day = default;
        return name.Length == FilePrefix.Length + DayFormat.Length + FileSuffix.Length
            && name.StartsWith(FilePrefix, StringComparison.Ordinal) && name.EndsWith(FileSuffix, StringComparison.Ordinal)
            && DateOnly.TryParseExact(name.AsSpan(FilePrefix.Length, DayFormat.Length), DayFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }

    /// <summary>Hands a line to the writer; never waits. A full buffer drops it (counted).</summary>
    public void Write(DateTimeOffset at, string line)
    {
        if (!_lines.Writer.TryWrite((at, line)))
            Drop(1);
    }

    private void Drop(long count)
    {
        Interlocked.Add(ref _dropped, count);
        Interlocked.Add(ref _droppedUnreported, count);
    }

    private async Task RunAsync(Task startGate)
    {
        await startGate.ConfigureAwait(false);
        var reader = _lines.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var batch = 0;
            try
            {
                while (reader.TryRead(out var item))
                {
                    batch++;
                    Open(item.At);
                    _file!.Write(item.Line);
                    _file.Write('\n');
                }
                if (Interlocked.Exchange(ref _droppedUnreported, 0) is var dropped and > 0)
                {
                    var now = _time.GetUtcNow();
                    Open(now);
                    _file!.Write(LogLine.Format(now, LogLevel.Warning, typeof(LogFileWriter).FullName!, 1008,
                        $"log: {dropped} line(s) dropped: the log writer fell behind or could not write (Log:BufferLines)"));
                    _file.Write('\n');
                }
                _file?.Flush();
                batch = 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A full or failing disk: this batch is lost (counted), the file is opened afresh for the next.
                Drop(Math.Max(batch, 1));
                CloseFile();
            }
        }
        CloseFile();
    }

    /// <summary>Makes the open file the one for the day of <paramref name="at"/>; a new day prunes old files.</summary>
    private void Open(DateTimeOffset at)
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        if (_file is not null && day == _day)
            return;
        var newDay = day != _day;
        CloseFile();
        var stream = new FileStream(Path.Combine(Folder, FileName(day)), new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            UnixCreateMode = DataFolderModes.PrivateFile,
        });
        _file = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 64 * 1024);
        _day = day;
        if (newDay)
            Prune(day);
    }

    /// <summary>Deletes the files of days before the last <c>_retentionDays</c> days up to <paramref name="today"/>.</summary>
    private void Prune(DateOnly today)
    {
        if (_retentionDays <= 0)
            return;
        var oldestKept = today.AddDays(1 - _retentionDays);
        foreach (var path in Directory.EnumerateFiles(Folder, FilePrefix + "*" + FileSuffix))
            if (TryParseFileName(path, out var day) && day < oldestKept)
            {
                try
                {
                    File.Delete(path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Tried again with the next day's file.
                }
            }
    }

    private void CloseFile()
    {
        try
        {
            _file?.Dispose();
        }
        catch (IOException)
        {
            // The lines it held are lost; the next open starts clean.
        }
        _file = null;
    }

    /// <summary>Writes what is buffered (waiting at most five seconds) and closes the file.</summary>
    public void Dispose()
    {
        _lines.Writer.TryComplete();
        _run.Wait(TimeSpan.FromSeconds(5));
    }
}
