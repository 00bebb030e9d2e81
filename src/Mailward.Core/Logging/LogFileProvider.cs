// The logging provider behind Log:Target=file|both: every event of the server as one line
// (LogLine) handed to the LogFileWriter, stamped by the server's clock.
using Microsoft.Extensions.Logging;

namespace Mailward.Core.Logging;

public sealed class LogFileProvider(LogFileWriter writer, TimeProvider? time = null) : ILoggerProvider
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public LogFileWriter Writer => writer;

    public ILogger CreateLogger(string categoryName) => new FileLogger(categoryName, writer, _time);

    public void Dispose() => writer.Dispose();

    private sealed class FileLogger(string category, LogFileWriter writer, TimeProvider time) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        // The factory's filter (Log:Level) has already decided; this sink takes whatever passes it.
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var at = time.GetUtcNow();
            writer.Write(at, LogLine.Format(at, logLevel, category, eventId.Id, formatter(state, exception), exception));
        }
    }
}
