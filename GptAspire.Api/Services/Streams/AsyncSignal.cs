using System.Threading.Tasks.Sources;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// An auto-reset signal for one waiter that allocates nothing per wait: the reader of a stream waits on it
/// between events, and both a new event and the heartbeat clock set it. Cancelled once, for good.
/// </summary>
internal sealed class AsyncSignal : IValueTaskSource
{
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private bool _set;
    private bool _waiting;
    private bool _cancelled;

    /// <summary>Wakes the waiter, or the next wait if nobody waits now.</summary>
    public void Set()
    {
        lock (_gate)
        {
            if (!_waiting)
            {
                _set = true;
                return;
            }

            _waiting = false;
        }

        _core.SetResult(true);
    }

    /// <summary>Ends the current and every later wait with <see cref="OperationCanceledException"/>.</summary>
    public void Cancel()
    {
        lock (_gate)
        {
            _cancelled = true;
            if (!_waiting)
            {
                return;
            }

            _waiting = false;
        }

        _core.SetException(new OperationCanceledException());
    }

    public ValueTask WaitAsync()
    {
        lock (_gate)
        {
            if (_cancelled)
            {
                return ValueTask.FromCanceled(new CancellationToken(canceled: true));
            }

            if (_set)
            {
                _set = false;
                return ValueTask.CompletedTask;
            }

            _core.Reset();
            _waiting = true;
            return new ValueTask(this, _core.Version);
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
