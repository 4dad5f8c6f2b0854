using GptAspire.Api.Models;

namespace GptAspire.Api.Services.Streams;

/// <summary>Why a generation was ended before the model finished.</summary>
public enum GenerationAbortReason
{
    None,
    /// <summary><c>POST /api/chat/stream/{id}/stop</c>: readers get <c>finish</c> <c>stopped</c>.</summary>
    Stopped,
    /// <summary>No reader for <c>Chat:Streams:AbandonAfter</c>.</summary>
    Abandoned,
    /// <summary>The API is shutting down.</summary>
    ShuttingDown,
    /// <summary>No token from upstream for <c>Chat:UpstreamIdleTimeout</c>.</summary>
    UpstreamIdle,
    /// <summary>The answer took longer than <c>Chat:MaxAnswerDuration</c>.</summary>
    TooLong,
}

/// <summary>The outcome of appending an event to a <see cref="ChatStreamBuffer"/>.</summary>
public enum AppendResult
{
    Appended,
    /// <summary>The stream already reached its event or byte limit; only the closing events are still taken.</summary>
    LimitReached,
    /// <summary>The stream has ended; nothing more is taken.</summary>
    Completed,
}

/// <summary>
/// The events of one generation, in order, readable by any number of readers from any id while it runs and
/// for a while after it ended. A buffer is either generated here (its generation can be aborted) or mirrors a
/// generation that runs on another replica (fed by the backplane).
/// </summary>
public sealed class ChatStreamBuffer
{
    private readonly Lock _gate = new();
    private readonly List<ChatStreamEvent> _events = [];
    private readonly CancellationTokenSource? _generation;
    private readonly int _maxEvents;
    private readonly long _maxBytes;
    private ChatStreamReader[] _readers = [];
    private long _bytes;
    private int _abortReason;

    /// <summary>A buffer for a generation that runs in this process.</summary>
    public ChatStreamBuffer(string requestId, int maxEvents, long maxBytes)
    {
        RequestId = requestId;
        _maxEvents = maxEvents;
        _maxBytes = maxBytes;
        _generation = new CancellationTokenSource();
        StartedAt = LastReaderLeftAt = LastUpstreamActivityAt = Environment.TickCount64;
    }

    private ChatStreamBuffer(string requestId)
    {
        RequestId = requestId;
        _maxEvents = int.MaxValue;
        _maxBytes = long.MaxValue;
        StartedAt = LastReaderLeftAt = LastUpstreamActivityAt = Environment.TickCount64;
    }

    /// <summary>A buffer that mirrors a generation running on another replica.</summary>
    public static ChatStreamBuffer Mirror(string requestId) => new(requestId);

    public string RequestId { get; }

    /// <summary>True when the generation runs on another replica and the backplane feeds this buffer.</summary>
    public bool IsMirror => _generation is null;

    /// <summary>Cancelled when the generation must end early; see <see cref="AbortReason"/>.</summary>
    public CancellationToken GenerationAborted => _generation?.Token ?? CancellationToken.None;

    public GenerationAbortReason AbortReason => (GenerationAbortReason)Volatile.Read(ref _abortReason);

    public bool IsCompleted { get; private set; }

    /// <summary><see cref="Environment.TickCount64"/> when the generation started.</summary>
    public long StartedAt { get; }

    /// <summary><see cref="Environment.TickCount64"/> when the last event was appended (or the stream was created).</summary>
    public long LastUpstreamActivityAt { get; private set; }

    /// <summary><see cref="Environment.TickCount64"/> when the stream ended.</summary>
    public long CompletedAt { get; private set; }

    /// <summary><see cref="Environment.TickCount64"/> when the last reader left (or the stream was created).</summary>
    public long LastReaderLeftAt { get; private set; }

    public int ReaderCount => Volatile.Read(ref _readers).Length;

    /// <summary>The id the next event will get.</summary>
    public long NextId
    {
        get
        {
            lock (_gate)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>Marks upstream as alive (a chunk arrived, even one without text).</summary>
    public void Touch() => LastUpstreamActivityAt = Environment.TickCount64;

    /// <summary>Asks the generation to end early; false when it has ended or another reason came first.</summary>
    public bool TryAbort(GenerationAbortReason reason)
    {
        if (_generation is null || IsCompleted
            || Interlocked.CompareExchange(ref _abortReason, (int)reason, (int)GenerationAbortReason.None) != (int)GenerationAbortReason.None)
        {
            return false;
        }

        _generation.Cancel();
        return true;
    }

    /// <summary>Appends the next event (its id must be <see cref="NextId"/>) and wakes the readers.</summary>
    public AppendResult Append(ChatStreamEvent item)
    {
        ChatStreamReader[] readers;
        lock (_gate)
        {
            if (IsCompleted)
            {
                return AppendResult.Completed;
            }

            if (item.Id != _events.Count)
            {
                throw new InvalidOperationException($"Event {item.Id} appended to stream {RequestId} at position {_events.Count}.");
            }

            // Room is kept for the closing usage and finish (or error), which are always taken.
            if (item.Name == ChatEventNames.Token && (_events.Count + 2 >= _maxEvents || _bytes + item.Frame.Length > _maxBytes))
            {
                return AppendResult.LimitReached;
            }

            _events.Add(item);
            _bytes += item.Frame.Length;
            LastUpstreamActivityAt = Environment.TickCount64;
            if (item.IsTerminal)
            {
                IsCompleted = true;
                CompletedAt = LastUpstreamActivityAt;
            }

            readers = _readers;
        }

        foreach (var reader in readers)
        {
            reader.Wake();
        }

        if (item.IsTerminal)
        {
            _generation?.Dispose();
        }

        return AppendResult.Appended;
    }

    /// <summary>Adds a reader that starts after event <paramref name="afterId"/> (-1: from the start).</summary>
    public ChatStreamReader AttachReader(long afterId)
    {
        var reader = new ChatStreamReader(this, afterId);
        lock (_gate)
        {
            _readers = [.. _readers, reader];
        }

        return reader;
    }

    internal void Detach(ChatStreamReader reader)
    {
        lock (_gate)
        {
            var index = Array.IndexOf(_readers, reader);
            if (index < 0)
            {
                return;
            }

            _readers = [.. _readers[..index], .. _readers[(index + 1)..]];
            if (_readers.Length == 0)
            {
                LastReaderLeftAt = Environment.TickCount64;
            }
        }
    }

    /// <summary>The readers now attached, for the heartbeat clock.</summary>
    internal ChatStreamReader[] Readers => Volatile.Read(ref _readers);

    /// <summary>Copies the events after <paramref name="afterId"/>; false when there are none yet.</summary>
    internal bool CopyAfter(long afterId, List<ChatStreamEvent> into, out bool completed)
    {
        lock (_gate)
        {
            completed = IsCompleted;
            var from = (int)Math.Max(0, afterId + 1);
            for (var i = from; i < _events.Count; i++)
            {
                into.Add(_events[i]);
            }

            return from < _events.Count;
        }
    }
}
