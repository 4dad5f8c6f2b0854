using System.Threading.Tasks.Sources;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// One clock for every streamed reply. Instead of a timer per token per stream, a single loop wakes once a
/// <see cref="Tick"/> while any stream waits and releases every stream whose next chunk is due: at 2,000
/// streams of 50 tokens/s that is ~100 streams per wake-up, and no timer or allocation per token.
/// </summary>
public sealed class StreamPacer : IDisposable
{
    /// <summary>How late a chunk may be released at most, beside the thread pool's own latency.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);

    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly PriorityQueue<PacedStream, long> _due = new();
    private readonly SemaphoreSlim _queued = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<PacedStream> _releasing = [];
    private readonly Task _loop;

    public StreamPacer(TimeProvider time)
    {
        _time = time;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>A stream's handle on the clock, to be awaited once per chunk; dispose it when the stream ends.</summary>
    public PacedStream Join(CancellationToken cancellationToken) => new(this, _time, cancellationToken);

    internal void Schedule(PacedStream stream, long dueTimestamp)
    {
        bool wasEmpty;
        lock (_gate)
        {
            wasEmpty = _due.Count == 0;
            _due.Enqueue(stream, dueTimestamp);
        }

        if (wasEmpty)
        {
            _queued.Release();
        }
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(Tick, _time);
        try
        {
            while (true)
            {
                // Asleep while no stream waits: an idle emulator costs nothing.
                await _queued.WaitAsync(_stopping.Token);
                while (await timer.WaitForNextTickAsync(_stopping.Token) && ReleaseDue())
                {
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Releases the streams that are due; false once none is left waiting.</summary>
    private bool ReleaseDue()
    {
        var now = _time.GetTimestamp();
        bool waiting;
        lock (_gate)
        {
            while (_due.TryPeek(out var stream, out var due) && due <= now)
            {
                _due.Dequeue();
                _releasing.Add(stream);
            }

            waiting = _due.Count > 0;
        }

        // Each stream continues on the thread pool (RunContinuationsAsynchronously): the clock never writes.
        foreach (var stream in _releasing)
        {
            stream.Release();
        }

        _releasing.Clear();
        return waiting;
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _loop.Wait(TimeSpan.FromSeconds(1));
        _stopping.Dispose();
        _queued.Dispose();
    }
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
