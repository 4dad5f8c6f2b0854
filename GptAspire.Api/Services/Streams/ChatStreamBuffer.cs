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
    // Frames are copied back to back into byte segments that grow from 1 KiB to 16 KiB, and located by a list of
    // structs: a stored token is a few bytes in an array that holds no references, not two objects. Objects kept
    // per token would live until the stream expires, so every garbage collection during an answer would copy and
    // then scan them (its pause is what the inter-token gap's p99 shows, README.md#performance).
    private const int FirstSegmentSize = 1024;
    private const int MaxSegmentSize = 16 * 1024;

    private readonly Lock _gate = new();
    private readonly List<byte[]> _segments = [];
    private readonly List<FrameLocation> _frames = [];
    private readonly CancellationTokenSource? _generation;
    private readonly int _maxEvents;
    private readonly long _maxBytes;
    private ChatStreamReader[] _readers = [];
    private int _segmentUsed;
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

    /// <summary>The last event (<c>finish</c> or <c>error</c>) once the stream has ended.</summary>
    public ChatStreamEvent? Last { get; private set; }

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
                return _frames.Count;
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

            if (item.Id != _frames.Count)
            {
                throw new InvalidOperationException($"Event {item.Id} appended to stream {RequestId} at position {_frames.Count}.");
            }

            // Room is kept for the closing usage and finish (or error), which are always taken.
            if (item.Name == ChatEventNames.Token && (_frames.Count + 2 >= _maxEvents || _bytes + item.Frame.Length > _maxBytes))
            {
                return AppendResult.LimitReached;
            }

            Store(item.Frame.Span);
            _bytes += item.Frame.Length;
            LastUpstreamActivityAt = Environment.TickCount64;
            if (item.IsTerminal)
            {
                IsCompleted = true;
                CompletedAt = LastUpstreamActivityAt;
                Last = item;
            }

            readers = _readers;
        }

        foreach (var reader in readers)
        {
            reader.Wake();
        }

        // The cancellation source is not disposed when the stream ends: TryAbort may still be on its way to
        // Cancel() from another thread (the clock, a stop), and a source without timers holds nothing to release.
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

    /// <summary>
    /// Adds the frames of the events after <paramref name="afterId"/> to <paramref name="into"/> (frames that lie
    /// back to back as one piece) and returns how many events they are: 0 when there are none yet.
    /// </summary>
    internal int CopyAfter(long afterId, List<ReadOnlyMemory<byte>> into, out bool completed)
    {
        lock (_gate)
        {
            completed = IsCompleted;
            // Any id from the client: at or past the end there is nothing (yet) to copy.
            if (afterId >= _frames.Count - 1)
            {
                return 0;
            }

            var from = (int)Math.Max(0, afterId + 1);
            var piece = _frames[from];
            for (var i = from + 1; i < _frames.Count; i++)
            {
                var next = _frames[i];
                if (next.Segment == piece.Segment && next.Start == piece.Start + piece.Length)
                {
                    piece = piece with { Length = piece.Length + next.Length };
                    continue;
                }

                into.Add(_segments[piece.Segment].AsMemory(piece.Start, piece.Length));
                piece = next;
            }

            into.Add(_segments[piece.Segment].AsMemory(piece.Start, piece.Length));
            return _frames.Count - from;
        }
    }

    // Under _gate. Segments are only ever appended to, so the pieces handed to readers never change.
    private void Store(ReadOnlySpan<byte> frame)
    {
        var segment = _segments.Count - 1;
        if (segment < 0 || _segments[segment].Length - _segmentUsed < frame.Length)
        {
            var size = segment < 0 ? FirstSegmentSize : Math.Min(_segments[segment].Length * 2, MaxSegmentSize);
            _segments.Add(new byte[Math.Max(size, frame.Length)]);
            _segmentUsed = 0;
            segment++;
        }

        frame.CopyTo(_segments[segment].AsSpan(_segmentUsed));
        _frames.Add(new FrameLocation(segment, _segmentUsed, frame.Length));
        _segmentUsed += frame.Length;
    }

    private readonly record struct FrameLocation(int Segment, int Start, int Length);
}
