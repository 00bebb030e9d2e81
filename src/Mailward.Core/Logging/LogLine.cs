// One log line in the console's single-line shape (docs/log-format.md): "TIMESTAMP LEVEL:
// CATEGORY[EVENTID] MESSAGE". The file writer formats it, `mailward stats` parses it back.
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Mailward.Core.Logging;

/// <summary>A parsed line: when, how severe (the four-letter name), which category and event, and the message.</summary>
public sealed record LogEntry(DateTimeOffset At, string Level, string Category, int EventId, string Message);

public static class LogLine
{
    public const string TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";

    /// <summary>The four-letter level names of Microsoft's SimpleConsole formatter, so files and stdout match.</summary>
    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };

    /// <summary>
    /// The line for one event, control characters replaced (CR, LF and TAB by a space, the rest by
    /// '?'): the last guard that nothing from the network can start a forged line.
    /// </summary>
    public static string Format(DateTimeOffset at, LogLevel level, string category, int eventId, string message, Exception? exception = null)
    {
        var sb = new StringBuilder(64 + category.Length + message.Length);
        sb.Append(at.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture)).Append(' ')
            .Append(LevelName(level)).Append(": ").Append(category).Append('[').Append(eventId.ToString(CultureInfo.InvariantCulture)).Append("] ");
        AppendClean(sb, message);
        if (exception is not null)
        {
            sb.Append(' ');
            AppendClean(sb, exception.ToString());
        }
        return sb.ToString();
    }

    private static void AppendClean(StringBuilder sb, string text)
    {
        foreach (var c in text)
            sb.Append(c switch
            {
                '\r' or '\n' or '\t' => ' ',
                _ when char.IsControl(c) => '?',
                _ => c,
            });
    }

    /// <summary>Parses a line in the shape above; false for anything else (a wrapped line, another program's output).</summary>
    public static bool TryParse(string line, out LogEntry entry)
    {
        entry = null!;
        // 2026-11-29T04:10:36.123Z info: Category[3000] message
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space != TimestampFormat.Length || line.Length < space + 8 || line[space + 5] != ':' || line[space + 6] != ' ')
            return false;
        if (!DateTimeOffset.TryParseExact(line.AsSpan(0, space), TimestampFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            return false;
        var level = line.Substring(space + 1, 4);
        var rest = space + 7;
        var open = line.IndexOf('[', rest);
        if (open < 0)
            return false;
        var close = line.IndexOf("] ", open, StringComparison.Ordinal);
        if (close < 0 || !int.TryParse(line.AsSpan(open + 1, close - open - 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
            return false;
        entry = new LogEntry(at, level, line[rest..open], id, line[(close + 2)..]);
        return true;
    }
}
