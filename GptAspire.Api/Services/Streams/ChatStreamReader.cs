namespace GptAspire.Api.Services.Streams;

/// <summary>What one <see cref="ChatStreamReader.ReadAsync"/> gave.</summary>
public enum ReadOutcome
{
    /// <summary>The frames of new events were added.</summary>
    Events,
    /// <summary>Nothing new for a heartbeat interval: send a heartbeat.</summary>
    Heartbeat,
    /// <summary>
    /// The stream has ended and the reader has every event; or this replica gave the answer up to another one,
    /// and the reader has every event it may send (no last event: its client resumes elsewhere).
    /// </summary>
    End,
}

/// <summary>
/// One connection's cursor on a <see cref="ChatStreamBuffer"/>. It waits on one signal that both new events and
/// the heartbeat clock set, so a token costs no timer. Dispose it when the connection ends.
/// </summary>
public sealed class ChatStreamReader : IDisposable
{
    private readonly ChatStreamBuffer _stream;
    private readonly AsyncSignal _signal = new();
    private long _position;
    private int _heartbeatDue;
    private ChatStreamEvent? _endWith;

    internal ChatStreamReader(ChatStreamBuffer stream, long afterId)
    {
        _stream = stream;
        _position = afterId;
        LastSentAt = Environment.TickCount64;
    }

    public ChatStreamBuffer Stream => _stream;

    /// <summary>The id of the last event this reader has (its client's <c>Last-Event-ID</c>, then each event sent).</summary>
    public long Position => Interlocked.Read(ref _position);

    /// <summary><see cref="Environment.TickCount64"/> of the last event or heartbeat this reader returned.</summary>
    public long LastSentAt { get; private set; }

    /// <summary>
    /// The stream's last event (<c>finish</c> or <c>error</c>) once a read has returned its frame; null before.
    /// </summary>
    public ChatStreamEvent? Last { get; private set; }

    /// <summary>
    /// Waits for the events after the last one returned (or after the start id), a heartbeat, or the end, and adds
    /// the frames of new events to <paramref name="frames"/>, ready to be written as they are.
    /// </summary>
    public async ValueTask<ReadOutcome> ReadAsync(List<ReadOnlyMemory<byte>> frames)
    {
        while (true)
        {
            if (Volatile.Read(ref _endWith) is { } end)
            {
                if (Last is not null)
                {
                    return ReadOutcome.End;
                }

                frames.Add(end.Frame);
                Last = end;
                return ReadOutcome.Events;
            }

            var count = _stream.CopyAfter(_position, frames, out var ended);
            if (count > 0)
            {
                Interlocked.Exchange(ref _position, Math.Max(0, _position + 1) + count - 1);
                LastSentAt = Environment.TickCount64;
                // An ended stream's copy runs to its last event (none when the answer was given up to another replica).
                if (ended)
                {
                    Last = _stream.Last;
                }

                return ReadOutcome.Events;
            }

            if (ended)
            {
                return ReadOutcome.End;
            }

            if (Interlocked.Exchange(ref _heartbeatDue, 0) == 1)
            {
                LastSentAt = Environment.TickCount64;
                return ReadOutcome.Heartbeat;
            }

            await _signal.WaitAsync();
        }
    }

    /// <summary>
    /// Ends this reader (alone) with <paramref name="last"/> instead of the stream's events: for a client that has
    /// events the stream does not.
    /// </summary>
    public void EndWith(ChatStreamEvent last)
    {
        Volatile.Write(ref _endWith, last);
        _signal.Set();
    }

    /// <summary>Ends a pending and every later read with <see cref="OperationCanceledException"/>.</summary>
    public void Cancel() => _signal.Cancel();

    internal void Wake() => _signal.Set();

    internal void RequestHeartbeat()
    {
        Volatile.Write(ref _heartbeatDue, 1);
        _signal.Set();
    }

    public void Dispose()
    {
        _signal.Cancel();
        _stream.Detach(this);
    }
}
