namespace GptAspire.Api.Services.Streams;

/// <summary>What <c>POST /api/chat/stream/{requestId}/stop</c> found.</summary>
public enum StopOutcome
{
    /// <summary>No such stream (or it expired): 404.</summary>
    NotFound,
    /// <summary>The generation was asked to stop: 202.</summary>
    Stopping,
    /// <summary>The stream had already ended: 200, nothing changes.</summary>
    AlreadyEnded,
}

/// <summary>
/// Shares streams between API replicas, like a SignalR backplane: the replica that generates publishes every
/// event; any other replica can mirror the stream for its readers, forward a stop, and tell the generating
/// replica that someone still reads. Without one (a single replica), streams live in memory only.
/// </summary>
public interface IChatStreamBackplane
{
    /// <summary>This replica's random id: in the <c>X-Stream-Replica</c> header, so a client can tell replicas apart.</summary>
    string ReplicaId { get; }

    /// <summary>Starts listening for stops; <paramref name="stopLocal"/> stops a generation of this replica.</summary>
    Task StartAsync(Func<string, StopOutcome> stopLocal);

    /// <summary>Announces a generation that starts on this replica.</summary>
    ValueTask CreatedAsync(ChatStreamBuffer stream, CancellationToken cancellationToken);

    /// <summary>Publishes one event of a generation of this replica, in order. Must not block the generation.</summary>
    void Published(ChatStreamBuffer stream, ChatStreamEvent item);

    /// <summary>
    /// Publishes the last event of a generation of this replica and marks it ended; completes once that is stored,
    /// so that no reader anywhere sees the end before a stop or a resume on another replica would.
    /// </summary>
    Task CompletedAsync(ChatStreamBuffer stream, ChatStreamEvent last);

    /// <summary>
    /// A buffer fed with the events of a generation that runs on another replica (the events so far, then the live
    /// rest), or null when no replica knows <paramref name="requestId"/>.
    /// </summary>
    ValueTask<ChatStreamBuffer?> OpenMirrorAsync(string requestId, CancellationToken cancellationToken);

    /// <summary>Forwards a stop to the replica that generates <paramref name="requestId"/>.</summary>
    ValueTask<StopOutcome> StopAsync(string requestId, CancellationToken cancellationToken);

    /// <summary>
    /// Called about once a second: keep readers' presence and this replica's liveness visible to the others, end
    /// mirrors whose generating replica is gone, and say which of this replica's generations still have readers elsewhere.
    /// </summary>
    ValueTask TickAsync(IReadOnlyList<ChatStreamBuffer> local, IReadOnlyList<ChatStreamBuffer> mirrors, CancellationToken cancellationToken);

    /// <summary>True when a reader on another replica read <paramref name="stream"/> within the abandon time (known as of the last tick).</summary>
    bool IsReadElsewhere(ChatStreamBuffer stream);

    /// <summary>Called when a mirror has no reader left and is dropped.</summary>
    void MirrorClosed(ChatStreamBuffer mirror);
}
