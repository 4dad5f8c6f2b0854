using System.Threading.Tasks.Sources;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// One clock for every streamed reply. Instead of a timer per token per stream, one timer is set for the
/// earliest chunk due, and each time it fires it releases every stream whose chunk is due. Wake-ups are at
/// least <see cref="Resolution"/> apart, so that streams share them: at 2,000 streams of 50 tokens/s that is
/// ~200 chunks per wake-up, and nothing wakes while no chunk is due (an idle emulator, or streams waiting
/// for a slow first token, cost nothing).
/// </summary>
public sealed class StreamPacer : IDisposable
{
    /// <summary>
    /// The least time between wake-ups: a chunk goes out at most this far from its time (up to half of it early),
    /// beside the thread pool's own latency.
    /// </summary>
    public static readonly TimeSpan Resolution = TimeSpan.FromMilliseconds(2);

    private readonly TimeProvider _time;
    private readonly long _resolution;
    private readonly Lock _gate = new();
    private readonly PriorityQueue<PacedStream, long> _due = new();
    private readonly ITimer _timer;
    private long _wakeAt = long.MaxValue;

    public StreamPacer(TimeProvider time)
    {
        _time = time;
        _resolution = (long)(Resolution.TotalSeconds * time.TimestampFrequency);
        _timer = time.CreateTimer(static state => ((StreamPacer)state!).ReleaseDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>A stream's handle on the clock, to be awaited once per chunk; dispose it when the stream ends.</summary>
    public PacedStream Join(CancellationToken cancellationToken) => new(this, _time, cancellationToken);

    internal void Schedule(PacedStream stream, long dueTimestamp)
    {
        lock (_gate)
        {
            _due.Enqueue(stream, dueTimestamp);
            if (dueTimestamp < _wakeAt)
            {
                SetTimer(dueTimestamp, _time.GetTimestamp());
            }
        }
    }

    private void ReleaseDue()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            _wakeAt = long.MaxValue;
            // The timer counts whole milliseconds and may fire a little before the timestamp it was set for:
            // a chunk due within half the resolution goes now rather than a whole resolution late.
            var horizon = now + _resolution / 2;
            // Releasing only queues each stream's continuation on the thread pool (RunContinuationsAsynchronously),
            // so the lock is held for the dequeues alone and the clock never writes a chunk itself.
            while (_due.TryPeek(out var stream, out var due) && due <= horizon)
            {
                _due.Dequeue();
                stream.Release();
            }

            if (_due.TryPeek(out _, out var next))
            {
                SetTimer(next, now);
            }
        }
    }

    private void SetTimer(long dueTimestamp, long now)
    {
        _wakeAt = Math.Max(dueTimestamp, now + _resolution);
        var milliseconds = Math.Ceiling((_wakeAt - now) * 1000.0 / _time.TimestampFrequency);
        _timer.Change(TimeSpan.FromMilliseconds(milliseconds), Timeout.InfiniteTimeSpan);
    }

    public void Dispose() => _timer.Dispose();
}

/// <summary>
/// One stream's place on the <see cref="StreamPacer"/>: a reusable awaitable, so that waiting for the next
/// chunk allocates nothing, and one cancellation registration for the whole stream.
/// </summary>
public sealed class PacedStream : IValueTaskSource, IDisposable
{
    private const int Idle = 0;
    private const int Waiting = 1;

    private readonly StreamPacer _pacer;
    private readonly TimeProvider _time;
    private readonly CancellationToken _cancellationToken;
    private readonly CancellationTokenRegistration _registration;
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _state;
    private long _due;

    internal PacedStream(StreamPacer pacer, TimeProvider time, CancellationToken cancellationToken)
    {
        _pacer = pacer;
        _time = time;
        _cancellationToken = cancellationToken;
        _due = time.GetTimestamp();
        _registration = cancellationToken.UnsafeRegister(static state => ((PacedStream)state!).Cancel(), this);
    }

    /// <summary>
    /// Waits until <paramref name="delay"/> after the previous chunk was due (after joining, for the first):
    /// chunks keep to their schedule however long each write took. A stream that fell behind sends its next
    /// chunk at once and keeps to a schedule from there, rather than catching up in a burst.
    /// </summary>
    public ValueTask WaitAsync(TimeSpan delay)
    {
        if (_cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(_cancellationToken);
        }

        var now = _time.GetTimestamp();
        var step = (long)(delay.TotalSeconds * _time.TimestampFrequency);
        _due = Math.Max(_due + step, now);
        if (_due <= now)
        {
            return ValueTask.CompletedTask;
        }

        _core.Reset();
        Volatile.Write(ref _state, Waiting);
        _pacer.Schedule(this, _due);
        // Cancelled between the check above and Waiting: the callback found nothing to cancel, so do it here
        // rather than wait for a chunk due perhaps minutes away ([emulator:slow-first-token]).
        if (_cancellationToken.IsCancellationRequested)
        {
            Cancel();
        }

        return new ValueTask(this, _core.Version);
    }

    internal void Release()
    {
        // A cancelled wait stays queued until it is due; by then it is Idle and this does nothing.
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
        {
            _core.SetResult(true);
        }
    }

    private void Cancel()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
        {
            _core.SetException(new OperationCanceledException(_cancellationToken));
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    public void Dispose() => _registration.Dispose();
}
