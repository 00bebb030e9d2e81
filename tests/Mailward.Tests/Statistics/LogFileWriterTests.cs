// The log files (docs/log-format.md): one file per UTC day, switched at midnight by the injected
// clock, days past the retention deleted, owner-only modes, a full buffer drops and counts lines
// instead of waiting, and no control character from a message reaches a file.
using Mailward.Core.Logging;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Mailward.Tests.Statistics;

public class LogFileWriterTests
{
    private static readonly DateTimeOffset Day1 = new(2026, 3, 1, 23, 59, 58, TimeSpan.Zero);

    private static string Line(DateTimeOffset at, string text) => LogLine.Format(at, LogLevel.Information, "Test", 1, text);

    [Fact]
    public void Lines_go_to_the_file_of_their_utc_day_and_a_new_day_opens_a_new_file()
    {
        using var tmp = new TempFolder();
        var clock = new ManualTimeProvider(Day1);
        var folder = tmp.Combine("log");
        using (var writer = new LogFileWriter(folder, 30, 1000, clock))
        {
            writer.Write(clock.GetUtcNow(), Line(clock.GetUtcNow(), "before midnight"));
            clock.Advance(TimeSpan.FromSeconds(3)); // 00:00:01 the next day
            writer.Write(clock.GetUtcNow(), Line(clock.GetUtcNow(), "after midnight"));
        }
        Assert.Equal(["mailward-2026-03-01.log", "mailward-2026-03-02.log"], Directory.GetFiles(folder).Select(f => Path.GetFileName(f)!).Order().ToArray());
        Assert.EndsWith("before midnight", Assert.Single(File.ReadAllLines(Path.Combine(folder, "mailward-2026-03-01.log"))));
        Assert.EndsWith("after midnight", Assert.Single(File.ReadAllLines(Path.Combine(folder, "mailward-2026-03-02.log"))));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, "mailward-2026-03-02.log")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
    }

    [Fact]
    public void Files_older_than_the_retention_are_deleted_when_a_new_day_begins_and_at_start()
    {
        using var tmp = new TempFolder();
        var folder = tmp.Combine("log");
        Directory.CreateDirectory(folder);
        // Left by an earlier run: two weeks old, and a file that is not a log of ours.
        File.WriteAllText(Path.Combine(folder, "mailward-2026-02-15.log"), "old\n");
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "mine\n");
        var clock = new ManualTimeProvider(Day1);
        using (var writer = new LogFileWriter(folder, 3, 1000, clock))
        {
            Assert.False(File.Exists(Path.Combine(folder, "mailward-2026-02-15.log"))); // pruned at start
            for (var day = 0; day < 5; day++)
            {
                writer.Write(clock.GetUtcNow(), Line(clock.GetUtcNow(), $"day {day}"));
                clock.Advance(TimeSpan.FromDays(1));
            }
        }
        // Days 1 to 5 of March were written; the last three (3rd, 4th, 5th) are kept.
        Assert.Equal(["mailward-2026-03-03.log", "mailward-2026-03-04.log", "mailward-2026-03-05.log", "notes.txt"],
            Directory.GetFiles(folder).Select(f => Path.GetFileName(f)!).Order().ToArray());
    }

    [Fact]
    public void Retention_zero_keeps_every_file()
    {
        using var tmp = new TempFolder();
        var folder = tmp.Combine("log");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "mailward-2020-01-01.log"), "old\n");
        var clock = new ManualTimeProvider(Day1);
        using (var writer = new LogFileWriter(folder, 0, 1000, clock))
            writer.Write(clock.GetUtcNow(), Line(clock.GetUtcNow(), "now"));
        Assert.Equal(2, Directory.GetFiles(folder).Length);
    }

    [Fact]
    public async Task A_full_buffer_drops_and_counts_lines_instead_of_waiting_and_says_so_in_the_file()
    {
        using var tmp = new TempFolder();
        var clock = new ManualTimeProvider(Day1);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var folder = tmp.Combine("log");
        var writer = new LogFileWriter(folder, 30, 100, clock, gate.Task); // the disk "stalls" until the gate opens
        var started = DateTime.UtcNow;
        for (var i = 0; i < 150; i++)
            writer.Write(clock.GetUtcNow(), Line(clock.GetUtcNow(), $"line {i}"));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2), "writing to a full buffer waited");
        Assert.Equal(50, writer.Dropped);
        gate.SetResult();
        await Task.Run(writer.Dispose);
        var lines = File.ReadAllLines(Path.Combine(folder, "mailward-2026-03-01.log"));
        Assert.Equal(101, lines.Length);
        Assert.EndsWith("line 99", lines[99]);
        Assert.Contains("[1008] log: 50 line(s) dropped", lines[100]);
    }

    [Fact]
    public void Control_characters_in_a_message_cannot_start_a_forged_line()
    {
        var at = Day1;
        var line = LogLine.Format(at, LogLevel.Information, "Mailward.Test", 2003, "rcpt rejected to=<a\r\n2026-03-01T00:00:00.000Z info: X[3000] forged\u001b[2J>",
            new InvalidOperationException("first\nsecond"));
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.DoesNotContain('\u001b', line);
        Assert.True(LogLine.TryParse(line, out var entry));
        Assert.Equal(2003, entry.EventId);
        Assert.Equal("Mailward.Test", entry.Category);
        Assert.Equal("info", entry.Level);
        Assert.Equal(at, entry.At);
    }
}
