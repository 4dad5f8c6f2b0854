using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace GptAspire.Api.FunctionalTests;

/// <summary>One log entry of the API under test.</summary>
public sealed record LogEntry(string Category, LogLevel Level, string Message, Exception? Exception);

/// <summary>Keeps what an app logs, so that a test can check what an operator would see.</summary>
public sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    /// <summary>
    /// Entries that make the logging call throw, after they are kept: a way to fail the API from inside, at a point
    /// the test chooses, for the failures that no input or upstream answer can cause.
    /// </summary>
    public Func<LogEntry, bool>? ThrowOn { get; init; }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogSink sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var entry = new LogEntry(category, logLevel, formatter(state, exception), exception);
            sink._entries.Enqueue(entry);
            if (sink.ThrowOn?.Invoke(entry) == true)
            {
                throw new InvalidOperationException($"Failing on purpose at: {entry.Message}");
            }
        }
    }
}
