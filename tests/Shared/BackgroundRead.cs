namespace GptAspire.Tests;

/// <summary>
/// Reads a stream on its own while the test goes on: its request id, its tokens as they come, all its events.
/// Every wait is bounded (<see cref="Bounds.Stream"/>), so a stream that stalls fails the test that waits on it.
/// </summary>
public sealed class BackgroundRead
{
    private readonly List<ReceivedEvent> _events = [];
    private readonly List<(int Count, TaskCompletionSource Signal)> _waits = [];

    public BackgroundRead(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var token = cancellationToken.CanBeCanceled ? cancellationToken : TestContext.Current.CancellationToken;
        Done = Task.Run(() => ChatStream.ReadEventsAsync(response, until: null, token, onEvent: received =>
        {
            lock (_events)
            {
                _events.Add(received);
                if (received.Name == "start")
                {
                    RequestId.TrySetResult(received.Data.GetProperty("requestId").GetString()!);
                }

                var tokens = _events.Count(e => e.Name == "token");
                foreach (var (count, signal) in _waits.Where(w => tokens >= w.Count))
                {
                    signal.TrySetResult();
                }
            }
        }));
    }

    public TaskCompletionSource<string> RequestId { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<List<ReceivedEvent>> Done { get; }

    /// <summary>Completes once <paramref name="count"/> tokens arrived; fails if the stream ends or stalls first.</summary>
    public async Task Tokens(int count)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_events)
        {
            if (_events.Count(e => e.Name == "token") >= count)
            {
                return;
            }

            _waits.Add((count, signal));
        }

        try
        {
            await Task.WhenAny(signal.Task, Done).WaitAsync(Bounds.Stream, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
        }

        if (!signal.Task.IsCompleted)
        {
            if (Done.IsFaulted)
            {
                await Done;
            }

            lock (_events)
            {
                throw new Xunit.Sdk.XunitException(
                    $"Waited for {count} tokens, saw {_events.Count(e => e.Name == "token")} " +
                    (Done.IsCompleted ? "before the stream ended" : $"within {Bounds.Stream}") +
                    $"; the last event: {(_events.Count == 0 ? "none" : _events[^1].Name + " " + _events[^1].RawData)}");
            }
        }
    }
}
