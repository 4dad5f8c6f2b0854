using System.Diagnostics;
using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>The last <see cref="Capacity"/> chat completions calls, for <c>GET /_emulator/requests</c>.</summary>
public sealed class RequestLog(TimeProvider time)
{
    public const int Capacity = 1000;

    private readonly Lock _gate = new();
    private readonly Queue<RequestLogEntry> _entries = new();

    public RequestLogEntry Begin(ChatRoute route, string path, string? traceparent)
    {
        var entry = new RequestLogEntry(time, route, path, traceparent);
        lock (_gate)
        {
            _entries.Enqueue(entry);
            while (_entries.Count > Capacity)
            {
                _entries.Dequeue();
            }
        }

        return entry;
    }

    /// <summary>The recorded calls, oldest first.</summary>
    public IReadOnlyList<RecordedRequest> Snapshot()
    {
        lock (_gate)
        {
            return [.. _entries.Select(entry => entry.ToRecord())];
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _entries.Clear();
        }
    }
}

/// <summary>One call as it progresses; written by its request, read by the log endpoint.</summary>
public sealed class RequestLogEntry
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private RecordedRequest _record;
    private int _completionTokens;
    private bool _dropped;

    internal RequestLogEntry(TimeProvider time, ChatRoute route, string path, string? traceparent)
    {
        _time = time;
        _record = new RecordedRequest
        {
            Id = $"req_{Guid.NewGuid():N}",
            Route = route.Name(),
            Path = path,
            Traceparent = traceparent,
            StartedAt = time.GetUtcNow(),
        };
    }

    /// <summary>When the call began, on the <see cref="Stopwatch"/> clock its metrics are measured with.</summary>
    public long StartTimestamp { get; } = Stopwatch.GetTimestamp();

    public void Describe(string model, bool stream, Scenario scenario) =>
        Update(record => record with { Model = model, Stream = stream, Scenario = scenario.Names });

    /// <summary>Called per token: a counter of its own, not a copy of the record.</summary>
    public void AddCompletionTokens(int count) => Interlocked.Add(ref _completionTokens, count);

    /// <summary>The completion tokens written so far.</summary>
    public int CompletionTokens => Volatile.Read(ref _completionTokens);

    /// <summary>The emulator itself cut the connection (<c>[emulator:drop]</c>): not the caller's doing.</summary>
    public void MarkDropped()
    {
        lock (_gate)
        {
            _dropped = true;
        }
    }

    public void End(int status, bool aborted)
    {
        lock (_gate)
        {
            _record = _record with
            {
                Status = status,
                Completed = !aborted && !_dropped,
                Cancelled = aborted && !_dropped,
                EndedAt = _time.GetUtcNow(),
            };
        }
    }

    public RecordedRequest ToRecord()
    {
        lock (_gate)
        {
            return _record with { CompletionTokens = CompletionTokens };
        }
    }

    private void Update(Func<RecordedRequest, RecordedRequest> change)
    {
        lock (_gate)
        {
            _record = change(_record);
        }
    }
}
