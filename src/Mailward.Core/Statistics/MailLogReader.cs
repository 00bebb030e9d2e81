// Feeds log files to MailStatistics in the order they were written: a log folder's daily files
// oldest first (those far outside --since/--until skipped), named files in the order given, "-"
// standard input (journalctl -o cat output carries the same lines).
using Mailward.Core.Logging;

namespace Mailward.Core.Statistics;

public static class MailLogReader
{
    /// <summary>
    /// Days read before --since so that deliveries are tied to messages queued earlier: a message
    /// stays at most Queue:Lifetime (7 days by default) in the queue.
    /// </summary>
    public const int DaysBeforeSince = 8;

    /// <summary>The files to read for <paramref name="sources"/> (folders, files, "-"), in reading order.</summary>
    public static IReadOnlyList<string> Files(IEnumerable<string> sources, DateTimeOffset? since, DateTimeOffset? until)
    {
        var files = new List<string>();
        foreach (var source in sources)
        {
            if (source != "-" && Directory.Exists(source))
            {
                var first = since is { } s ? DateOnly.FromDateTime(s.UtcDateTime).AddDays(-DaysBeforeSince) : DateOnly.MinValue;
                var last = until is { } u ? DateOnly.FromDateTime(u.UtcDateTime) : DateOnly.MaxValue;
                files.AddRange(Directory.EnumerateFiles(source, LogFileWriter.FilePrefix + "*" + LogFileWriter.FileSuffix)
                    .Select(f => (Path: f, Ok: LogFileWriter.TryParseFileName(f, out var day), Day: day))
                    .Where(f => f.Ok && f.Day >= first && f.Day <= last)
                    .OrderBy(f => f.Day)
                    .Select(f => f.Path));
            }
            else if (source == "-" || File.Exists(source))
                files.Add(source);
            else
                throw new FileNotFoundException($"no log file or folder {source}", source);
        }
        return files;
    }

    /// <summary>Reads every line of <paramref name="files"/> into <paramref name="stats"/>; lines of another shape are skipped.</summary>
    public static void Read(IReadOnlyList<string> files, MailStatistics stats, TextReader? stdin = null)
    {
        foreach (var file in files)
        {
            using var reader = file == "-" ? null : new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            var input = reader ?? stdin ?? TextReader.Null;
            stats.FilesRead++;
            while (input.ReadLine() is { } line)
            {
                stats.LinesRead++;
                if (LogLine.TryParse(line, out var entry) && MailLogEvents.Parse(entry) is { } e)
                    stats.Add(e);
            }
        }
    }
}
