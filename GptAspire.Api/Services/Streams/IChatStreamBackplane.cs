namespace GptAspire.Api.Services.Streams;

/// <summary>What <c>POST /api/chat/stream/{requestId}/stop</c> found.</summary>
public enum StopOutcome
{
    /// <summary>No such stream (or it expired, or it belongs to someone else): 404.</summary>
    NotFound,
    /// <summary>The generation was asked to stop: 202.</summary>
    Stopping,
    /// <summary>The stream had already ended: 200, nothing changes.</summary>
    AlreadyEnded,
}

/// <summary>
/// Where the streams of one replica meet those of the others, like a SignalR backplane: the replica that generates
/// an answer writes every event through it; any other replica mirrors the answer for its readers, forwards a stop,
/// tells the generating replica that someone still reads, and takes the answer over when that replica dies or
/// shuts down. Two implementations: <see cref="InMemoryChatStreamBackplane"/> (one replica: nothing is shared) and
/// <see cref="Redis.RedisChatStreamBackplane"/>.
/// </summary>
public interface IChatStreamBackplane
{
    /// <summary>This replica's random id (the <c>X-Stream-Replica</c> header), or null when nothing is shared.</summary>
    string? ReplicaId { get; }

    /// <summary>True when another replica is alive to continue this one's answers (as of the last lease renewal).</summary>
    bool CanHandOver { get; }

    /// <summary>Starts sharing: <paramref name="host"/> gets the stops and the takeovers that reach this replica.</summary>
    Task StartAsync(IChatStreamHost host);

    /// <summary>Announces a generation that starts on this replica, before its first event.</summary>
    ValueTask CreatedAsync(ChatStreamBuffer stream, StoredGeneration generation, CancellationToken cancellationToken);

    /// <summary>Called after each event the generation appends (the last one too). Must not block the generation.</summary>
    void Appended(ChatStreamBuffer stream);

    /// <summary>
    /// A buffer fed with the events of a generation that runs on another replica (the events so far, then the live
    /// rest), or null when no replica knows <paramref name="requestId"/> or it is not <paramref name="principal"/>'s.
    /// </summary>
    ValueTask<ChatStreamBuffer?> OpenMirrorAsync(string requestId, string? principal, CancellationToken cancellationToken);

    /// <summary>Called when a mirror has no reader left and is dropped.</summary>
    void MirrorClosed(ChatStreamBuffer mirror);

    /// <summary>Stops a generation of another replica (or ends one whose replica is gone with <c>finish stopped</c>).</summary>
    ValueTask<StopOutcome> StopAsync(string requestId, string? principal, CancellationToken cancellationToken);

    /// <summary>True when a reader on another replica read <paramref name="stream"/> within the abandon time (as of the last check).</summary>
    bool IsReadElsewhere(ChatStreamBuffer stream);

    /// <summary>
    /// Gives a generation of this replica, stopped with <see cref="GenerationAbortReason.HandedOver"/>, to the other
    /// replicas once every event it made is shared; false when that cannot be done (it must then end here).
    /// </summary>
    Task<bool> HandOverAsync(ChatStreamBuffer stream);
}

/// <summary>What a backplane calls back on this replica: the store.</summary>
public interface IChatStreamHost
{
    /// <summary>Stops a generation of this replica (a stop forwarded from another replica).</summary>
    StopOutcome StopLocal(string requestId);

    /// <summary>This replica took over <paramref name="stream"/> (a mirror until now): continue or end it.</summary>
    void Adopt(ChatStreamBuffer stream, Takeover takeover);

    /// <summary>Another replica took over <paramref name="stream"/> from this one (fenced off): forget it here.</summary>
    void Relinquished(ChatStreamBuffer stream);
}

/// <summary>What another replica needs to continue an answer: the request as the generation sent it upstream.</summary>
/// <param name="Messages">The conversation.</param>
/// <param name="MaxTokens">The cap on answer tokens, as applied.</param>
/// <param name="Temperature">The temperature, if the request set one.</param>
/// <param name="PromptTokens">The prompt's tokens, as counted at the start.</param>
/// <param name="TraceParent">The W3C <c>traceparent</c> of the generation, so that a continuation links to it.</param>
/// <param name="Principal">Who may read and stop it (a hash), or null.</param>
/// <param name="Seed">The sampling seed sent upstream, so that a continuation samples as the first call did.</param>
public sealed record StoredGeneration(
    IReadOnlyList<StoredMessage> Messages, int MaxTokens, double? Temperature, int PromptTokens, string? TraceParent, string? Principal, long Seed);

/// <summary>One message of a <see cref="StoredGeneration"/>.</summary>
public sealed record StoredMessage(string Role, string Content);

/// <summary>A generation this replica took over from another one.</summary>
/// <param name="Generation">The request.</param>
/// <param name="StopRequested">Someone asked to stop it: end it <c>finish stopped</c>, do not continue.</param>
/// <param name="Unattended">How long since its last event: past the abandon time it ends <c>abandoned</c>.</param>
/// <param name="HandedOver">Its replica handed it over while shutting down (rather than dying).</param>
public sealed record Takeover(StoredGeneration Generation, bool StopRequested, TimeSpan Unattended, bool HandedOver);

/// <summary>Runs the generations a replica takes over (the chat service; resolved lazily: it needs the store).</summary>
public interface IChatGenerationRunner
{
    /// <summary>Continues <paramref name="stream"/> from its next id, or ends it as <paramref name="takeover"/> says.</summary>
    void Continue(ChatStreamBuffer stream, Takeover takeover);
}
