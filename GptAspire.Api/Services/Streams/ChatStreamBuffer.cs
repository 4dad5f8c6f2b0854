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
    /// <summary>No token from upstream for <c>Chat:Streams:UpstreamIdleTimeout</c>.</summary>
    UpstreamIdle,
    /// <summary>The answer took longer than <c>Chat:Streams:MaxAnswerDuration</c>.</summary>
    TooLong,
    /// <summary>The API is shutting down while another replica is alive: it continues the answer; no last event here.</summary>
    HandedOver,
    /// <summary>Another replica took the answer over (this one stalled past its lease): no last event here.</summary>
    TakenOver,
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
/// for a while after it ended. A buffer is either owned (its generation runs in this process and can be aborted)
/// or mirrors a generation that runs on another replica (fed by the backplane); a mirror becomes owned when this
/// replica takes the answer over.
/// </summary>
/// <remarks>
/// Readers see an event once it is <em>released</em>. A buffer kept in this process only releases each event as it
/// is appended; one shared with other replicas releases events once the shared store has them, so that no client's
/// <c>Last-Event-ID</c> runs ahead of what another replica can serve (what makes a takeover's seam exact).
/// </remarks>
public sealed class ChatStreamBuffer
{
    // Frames are copied back to back into byte segments that grow from 1 KiB to 16 KiB (after a first one as large as
    // the first frame), and located by a list of structs: a stored token is a few bytes in an array that holds no
    // references, not two objects. Objects kept per token would live until the stream expires, so every garbage
    // collection during an answer would copy and then scan them (its pause is what the inter-token gap's p99 shows,
    // README.md#performance).
    private const int FirstSegmentSize = 1024;
    private const int MaxSegmentSize = 16 * 1024;

    private readonly Lock _gate = new();
    private readonly List<byte[]> _segments = [];
    private readonly List<FrameLocation> _frames = [];
    private readonly int _maxEvents;
    private readonly long _maxBytes;
    private CancellationTokenSource? _generation;
    private ChatStreamReader[] _readers = [];
    private int _segmentUsed;
    private long _bytes;
    private int _abortReason;
    private int _released;
    private bool _releaseOnAppend = true;
    private bool _relinquished;

    /// <summary>A buffer for a generation that runs in this process.</summary>
    public ChatStreamBuffer(string requestId, int maxEvents, long maxBytes, string? principal = null)
    {
        RequestId = requestId;
        Principal = principal;
        _maxEvents = maxEvents;
        _maxBytes = maxBytes;
        _generation = new CancellationTokenSource();
        StartedAt = LastReaderLeftAt = LastUpstreamActivityAt = Environment.TickCount64;
    }

    private ChatStreamBuffer(string requestId, string? principal, int maxEvents, long maxBytes)
    {
        RequestId = requestId;
        Principal = principal;
        _maxEvents = maxEvents;
        _maxBytes = maxBytes;
        StartedAt = LastReaderLeftAt = LastUpstreamActivityAt = Environment.TickCount64;
    }

    /// <summary>A buffer that mirrors a generation running on another replica.</summary>
    public static ChatStreamBuffer Mirror(string requestId, string? principal, int maxEvents, long maxBytes) =>
        new(requestId, principal, maxEvents, maxBytes);

    public string RequestId { get; }

    /// <summary>Who may read and stop the answer (a hash of the signed-in principal), or null for anyone with the id.</summary>
    public string? Principal { get; }

    /// <summary>True when the generation runs on another replica and the backplane feeds this buffer.</summary>
    public bool IsMirror => Volatile.Read(ref _generation) is null;

    /// <summary>The ownership epoch in the shared store (0 with one replica); a write with an older one is refused.</summary>
    public long Epoch { get; private set; }

    /// <summary>Cancelled when the generation must end early; see <see cref="AbortReason"/>.</summary>
    public CancellationToken GenerationAborted => Volatile.Read(ref _generation)?.Token ?? CancellationToken.None;

    public GenerationAbortReason AbortReason => (GenerationAbortReason)Volatile.Read(ref _abortReason);

    /// <summary>True once the last event (<c>finish</c> or <c>error</c>) was appended.</summary>
    public bool IsCompleted { get; private set; }

    /// <summary>True once this process gave the answer up to another replica: its readers end without a last event.</summary>
    public bool IsRelinquished
    {
        get
        {
            lock (_gate)
            {
                return _relinquished;
            }
        }
    }

    /// <summary>The last event (<c>finish</c> or <c>error</c>) once the stream has ended.</summary>
    public ChatStreamEvent? Last { get; private set; }

    /// <summary><see cref="Environment.TickCount64"/> when the generation started (or was taken over).</summary>
    public long StartedAt { get; private set; }

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

    /// <summary>The events readers may see: those before this id.</summary>
    public long ReleasedCount
    {
        get
        {
            lock (_gate)
            {
                return _released;
            }
        }
    }

    /// <summary>Marks upstream as alive (a chunk arrived, even one without text).</summary>
    public void Touch() => LastUpstreamActivityAt = Environment.TickCount64;

    /// <summary>Asks the generation to end early; false when it has ended or another reason came first.</summary>
    public bool TryAbort(GenerationAbortReason reason)
    {
        var generation = Volatile.Read(ref _generation);
        if (generation is null || IsCompleted
            || Interlocked.CompareExchange(ref _abortReason, (int)reason, (int)GenerationAbortReason.None) != (int)GenerationAbortReason.None)
        {
            return false;
        }

        generation.Cancel();
        return true;
    }

    /// <summary>
    /// From now on readers see an event only once <see cref="Release"/> says the shared store has it (false), or
    /// as soon as it is appended (true, the default, and the fallback while the shared store cannot be reached).
    /// </summary>
    public void ReleaseOnAppend(bool value)
    {
        ChatStreamReader[] readers;
        lock (_gate)
        {
            _releaseOnAppend = value;
            if (!value || _released == _frames.Count)
            {
                return;
            }

            _released = _frames.Count;
            readers = _readers;
        }

        Wake(readers);
    }

    /// <summary>
    /// Goes back to releasing events only once the shared store has them, if it has every event appended so far
    /// (<paramref name="durable"/>); false when more came meanwhile.
    /// </summary>
    public bool TryReleaseOnlyDurable(long durable)
    {
        lock (_gate)
        {
            if (_frames.Count != durable)
            {
                return false;
            }

            _releaseOnAppend = false;
            return true;
        }
    }

    /// <summary>Lets readers see the events before <paramref name="count"/> (the shared store has them).</summary>
    public void Release(long count)
    {
        ChatStreamReader[] readers;
        lock (_gate)
        {
            var target = (int)Math.Min(count, _frames.Count);
            if (target <= _released)
            {
                return;
            }

            _released = target;
            readers = _readers;
        }

        Wake(readers);
    }

    /// <summary>
    /// This replica takes over the answer that this mirror followed: from now on it is owned here, with the
    /// shared store's <paramref name="epoch"/>, and its clocks start again.
    /// </summary>
    public void Claim(long epoch)
    {
        lock (_gate)
        {
            Epoch = epoch;
            StartedAt = LastUpstreamActivityAt = LastReaderLeftAt = Environment.TickCount64;
            _abortReason = (int)GenerationAbortReason.None;
            Volatile.Write(ref _generation, new CancellationTokenSource());
        }
    }

    /// <summary>Sets the epoch of a buffer that this replica created (its first write to the shared store).</summary>
    public void SetEpoch(long epoch)
    {
        lock (_gate)
        {
            Epoch = epoch;
        }
    }

    /// <summary>
    /// This process gave the answer up (handed over at shutdown, or fenced off by a replica that took it over):
    /// its readers end, without a last event, once they have every released event, so that their clients resume
    /// on another replica.
    /// </summary>
    public void Relinquish()
    {
        ChatStreamReader[] readers;
        lock (_gate)
        {
            _relinquished = true;
            readers = _readers;
        }

        Wake(readers);
    }

    /// <summary>Appends the next event (its id must be <see cref="NextId"/>) and wakes the readers.</summary>
    public AppendResult Append(ChatStreamEvent item) => Append(item, null);

    /// <summary>
    /// Appends two events at once (the usage and the finish that follows it), so that no reader and no replica
    /// ever sees the first without the second.
    /// </summary>
    public AppendResult Append(ChatStreamEvent item, ChatStreamEvent? next)
    {
        ChatStreamReader[] readers;
        lock (_gate)
        {
            var result = AppendLocked(item);
            if (result != AppendResult.Appended)
            {
                return result;
            }

            if (next is not null)
            {
                AppendLocked(next);
            }

            if (!_releaseOnAppend)
            {
                return AppendResult.Appended;
            }

            _released = _frames.Count;
            readers = _readers;
        }

        Wake(readers);

        // The cancellation source is not disposed when the stream ends: TryAbort may still be on its way to
        // Cancel() from another thread (the clock, a stop), and a source without timers holds nothing to release.
        return AppendResult.Appended;
    }

    private AppendResult AppendLocked(ChatStreamEvent item)
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
        if (!item.IsClosing && (_frames.Count + 2 >= _maxEvents || _bytes + item.Frame.Length > _maxBytes))
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

        return AppendResult.Appended;
    }

    private static void Wake(ChatStreamReader[] readers)
    {
        foreach (var reader in readers)
        {
            reader.Wake();
        }
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
    /// Adds the frames of the released events after <paramref name="afterId"/> to <paramref name="into"/> (frames
    /// that lie back to back as one piece) and returns how many events they are: 0 when there are none yet.
    /// <paramref name="ended"/> says whether the reader is then done: the last event released, or the answer given up.
    /// </summary>
    internal int CopyAfter(long afterId, List<ReadOnlyMemory<byte>> into, out bool ended)
    {
        lock (_gate)
        {
            ended = (IsCompleted && _released == _frames.Count) || _relinquished;
            // Any id from the client: at or past the end there is nothing (yet) to copy.
            if (afterId >= _released - 1)
            {
                return 0;
            }

            var from = (int)Math.Max(0, afterId + 1);
            var piece = _frames[from];
            for (var i = from + 1; i < _released; i++)
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
            return _released - from;
        }
    }

    /// <summary>
    /// Adds the frames of events <paramref name="fromId"/> onwards, one memory each, to <paramref name="into"/>: at
    /// most <paramref name="maxEvents"/> of them and about <paramref name="maxBytes"/>. For the writer to the shared
    /// store, and for rebuilding an answer that is taken over.
    /// </summary>
    internal void CopyFrames(long fromId, int maxEvents, long maxBytes, List<ReadOnlyMemory<byte>> into)
    {
        lock (_gate)
        {
            long bytes = 0;
            for (var i = (int)fromId; i < _frames.Count && into.Count < maxEvents && (bytes == 0 || bytes < maxBytes); i++)
            {
                var frame = _frames[i];
                into.Add(_segments[frame.Segment].AsMemory(frame.Start, frame.Length));
                bytes += frame.Length;
            }
        }
    }

    // Under _gate. Segments are only ever appended to, so the pieces handed to readers never change.
    private void Store(ReadOnlySpan<byte> frame)
    {
        var segment = _segments.Count - 1;
        if (segment < 0 || _segments[segment].Length - _segmentUsed < frame.Length)
        {
            // The first segment holds the first frame alone (start, a few hundred bytes): a stream waiting for its
            // first token keeps no room it may never use.
            var size = segment < 0 ? frame.Length : Math.Clamp(_segments[segment].Length * 2, FirstSegmentSize, MaxSegmentSize);
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
