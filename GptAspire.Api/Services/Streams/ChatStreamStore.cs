using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// Where generations live while they run and for <see cref="ChatStreamsOptions.RetainFor"/> after: in this
/// process, and through the <see cref="IChatStreamBackplane"/> for the other replicas. Bounded: a limit on live
/// generations (503 past it), on retained streams, and on each stream's events and bytes.
/// </summary>
public sealed class ChatStreamStore(IOptions<ChatStreamsOptions> options, IChatStreamBackplane backplane, IServiceProvider services)
    : IChatStreamHost
{
    private readonly ConcurrentDictionary<string, ChatStreamBuffer> _local = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ChatStreamBuffer> _mirrors = new(StringComparer.Ordinal);
    private readonly Lock _mirrorGate = new();
    private readonly ConcurrentDictionary<ChatStreamBuffer, byte> _live = new();
    private readonly ChatStreamsOptions _options = options.Value;
    private volatile bool _closed;

    public ChatStreamsOptions Options => _options;

    /// <summary>This replica's id when streams are shared between replicas; null with one replica.</summary>
    public string? ReplicaId => backplane.ReplicaId;

    /// <summary>Connects the backplane, so that stops and takeovers from other replicas reach this one.</summary>
    public Task StartAsync() => backplane.StartAsync(this);

    /// <summary>Generations running in this process.</summary>
    public int LiveCount => _live.Count;

    /// <summary>
    /// A buffer for a new generation, or null when the API is full (or shutting down): answer 503 with
    /// <see cref="ChatStreamsOptions.RetryAfterWhenFull"/>.
    /// </summary>
    public async ValueTask<ChatStreamBuffer?> TryCreateAsync(string requestId, StoredGeneration generation, CancellationToken cancellationToken)
    {
        if (_closed || _live.Count >= _options.MaxLiveStreams)
        {
            return null;
        }

        var stream = new ChatStreamBuffer(requestId, _options.MaxEventsPerStream, _options.MaxBytesPerStream, generation.Principal);
        if (!TryCountLive(stream))
        {
            return null;
        }

        _local[requestId] = stream;
        try
        {
            await backplane.CreatedAsync(stream, generation, cancellationToken);
        }
        catch
        {
            _local.TryRemove(requestId, out _);
            _live.TryRemove(stream, out _);
            throw;
        }

        return stream;
    }

    private bool TryCountLive(ChatStreamBuffer stream)
    {
        _live[stream] = 0;
        if (_live.Count <= _options.MaxLiveStreams)
        {
            return true;
        }

        _live.TryRemove(stream, out _);
        return false;
    }

    /// <summary>Appends an event (not the last) of a generation of this process.</summary>
    public AppendResult Append(ChatStreamBuffer stream, ChatStreamEvent item)
    {
        if (item.IsTerminal)
        {
            throw new ArgumentException("The last event goes through Complete.", nameof(item));
        }

        var result = stream.Append(item);
        if (result == AppendResult.Appended)
        {
            backplane.Appended(stream);
        }

        return result;
    }

    /// <summary>
    /// Appends the last event of a generation of this process, after <paramref name="usage"/> if there is one: both
    /// at once, so that no reader anywhere sees the usage without the end.
    /// </summary>
    public void Complete(ChatStreamBuffer stream, ChatStreamEvent last, ChatStreamEvent? usage = null)
    {
        var result = usage is null ? stream.Append(last) : stream.Append(usage, last);
        if (result == AppendResult.Appended)
        {
            backplane.Appended(stream);
        }

        _live.TryRemove(stream, out _);
    }

    /// <summary>
    /// Gives a generation stopped with <see cref="GenerationAbortReason.HandedOver"/> to another replica; false when
    /// none can take it (then end it here).
    /// </summary>
    public async Task<bool> HandOverAsync(ChatStreamBuffer stream)
    {
        if (!await backplane.HandOverAsync(stream))
        {
            return false;
        }

        Relinquished(stream);
        return true;
    }

    /// <summary>
    /// A reader of stream <paramref name="requestId"/> after event <paramref name="afterId"/>, wherever it runs,
    /// or null when no replica knows it (never existed, expired, or belongs to another principal).
    /// </summary>
    public async ValueTask<ChatStreamReader?> OpenAsync(string requestId, long afterId, string? principal, CancellationToken cancellationToken)
    {
        if (_local.TryGetValue(requestId, out var stream) && !stream.IsRelinquished)
        {
            return stream.Principal == principal ? stream.AttachReader(afterId) : null;
        }

        lock (_mirrorGate)
        {
            if (_mirrors.TryGetValue(requestId, out var shared))
            {
                return shared.Principal == principal ? shared.AttachReader(afterId) : null;
            }
        }

        var mirror = await backplane.OpenMirrorAsync(requestId, principal, cancellationToken);
        if (mirror is null)
        {
            return null;
        }

        ChatStreamReader? reader = null;
        ChatStreamBuffer? unused = null;
        lock (_mirrorGate)
        {
            if (_mirrors.TryGetValue(requestId, out var first))
            {
                // One mirror per answer on this replica: a reader that opened one at the same time uses the first.
                (unused, mirror) = (mirror, first);
            }
            else if (mirror.Principal == principal)
            {
                _mirrors[requestId] = mirror;
            }
            else
            {
                unused = mirror;
            }

            if (!ReferenceEquals(unused, mirror) && mirror.Principal == principal)
            {
                reader = mirror.AttachReader(afterId);
            }
        }

        if (unused is not null)
        {
            backplane.MirrorClosed(unused);
        }

        return reader;
    }

    /// <summary>Called when a reader is done: a mirror without readers is closed at once.</summary>
    public void Release(ChatStreamReader reader)
    {
        reader.Dispose();
        var stream = reader.Stream;
        if (!stream.IsMirror)
        {
            return;
        }

        lock (_mirrorGate)
        {
            if (stream.ReaderCount > 0 || !_mirrors.TryGetValue(stream.RequestId, out var mirror) || !ReferenceEquals(mirror, stream))
            {
                return;
            }

            _mirrors.Remove(stream.RequestId);
        }

        backplane.MirrorClosed(stream);
    }

    /// <summary>Stops a generation wherever it runs (only its principal may, when it has one).</summary>
    public ValueTask<StopOutcome> StopAsync(string requestId, string? principal, CancellationToken cancellationToken)
    {
        if (_local.TryGetValue(requestId, out var stream) && !stream.IsRelinquished)
        {
            return ValueTask.FromResult(stream.Principal == principal ? Stop(stream) : StopOutcome.NotFound);
        }

        return backplane.StopAsync(requestId, principal, cancellationToken);
    }

    /// <summary>Stops a generation of this process (a stop forwarded by the backplane lands here too).</summary>
    public StopOutcome StopLocal(string requestId) =>
        _local.TryGetValue(requestId, out var stream) ? Stop(stream) : StopOutcome.NotFound;

    private static StopOutcome Stop(ChatStreamBuffer stream)
    {
        if (stream.IsCompleted)
        {
            return StopOutcome.AlreadyEnded;
        }

        stream.TryAbort(GenerationAbortReason.Stopped);
        return StopOutcome.Stopping;
    }

    /// <summary>This replica took a mirror's answer over: it is now a generation of this process.</summary>
    public void Adopt(ChatStreamBuffer stream, Takeover takeover)
    {
        lock (_mirrorGate)
        {
            if (_mirrors.TryGetValue(stream.RequestId, out var mirror) && ReferenceEquals(mirror, stream))
            {
                _mirrors.Remove(stream.RequestId);
            }
        }

        _live[stream] = 0;
        _local[stream.RequestId] = stream;
        services.GetRequiredService<IChatGenerationRunner>().Continue(stream, takeover);
    }

    /// <summary>Another replica has the answer now: its readers here end (they resume there), and it is forgotten here.</summary>
    public void Relinquished(ChatStreamBuffer stream)
    {
        stream.Relinquish();
        _live.TryRemove(stream, out _);
        _local.TryRemove(new KeyValuePair<string, ChatStreamBuffer>(stream.RequestId, stream));
    }

    /// <summary>
    /// Refuses new generations and ends every live one: handed over to another replica when one is alive (its
    /// readers resume there), else with <c>server_shutting_down</c>.
    /// </summary>
    public void Close()
    {
        _closed = true;
        var reason = backplane.CanHandOver ? GenerationAbortReason.HandedOver : GenerationAbortReason.ShuttingDown;
        foreach (var stream in _local.Values)
        {
            stream.TryAbort(reason);
        }
    }

    /// <summary>True once <see cref="Close"/> ran and every generation of this process has written its last event.</summary>
    public bool Drained => _closed && LiveCount == 0;

    /// <summary>
    /// The clock of all streams, about once a second: heartbeats for silent readers, abandoned, stalled and
    /// too-long generations, expiry of finished streams. Never waits on the network.
    /// </summary>
    public void Tick()
    {
        var now = Environment.TickCount64;
        var heartbeatMs = (long)_options.HeartbeatInterval.TotalMilliseconds;
        List<ChatStreamBuffer>? retained = null;

        foreach (var stream in _local.Values)
        {
            Heartbeats(stream, now, heartbeatMs);
            if (stream.IsCompleted || stream.IsRelinquished)
            {
                if (now - stream.CompletedAt >= _options.RetainFor.TotalMilliseconds || stream.IsRelinquished && stream.ReaderCount == 0)
                {
                    _local.TryRemove(new KeyValuePair<string, ChatStreamBuffer>(stream.RequestId, stream));
                }
                else
                {
                    (retained ??= []).Add(stream);
                }

                continue;
            }

            if (stream.ReaderCount == 0
                && now - stream.LastReaderLeftAt >= _options.AbandonAfter.TotalMilliseconds
                && !backplane.IsReadElsewhere(stream))
            {
                stream.TryAbort(GenerationAbortReason.Abandoned);
            }
            else if (now - stream.LastUpstreamActivityAt >= _options.UpstreamIdleTimeout.TotalMilliseconds)
            {
                stream.TryAbort(GenerationAbortReason.UpstreamIdle);
            }
            else if (now - stream.StartedAt >= _options.MaxAnswerDuration.TotalMilliseconds)
            {
                stream.TryAbort(GenerationAbortReason.TooLong);
            }
        }

        if (retained is not null && retained.Count > _options.MaxRetainedStreams)
        {
            retained.Sort((a, b) => a.CompletedAt.CompareTo(b.CompletedAt));
            foreach (var stream in retained.Take(retained.Count - _options.MaxRetainedStreams))
            {
                _local.TryRemove(new KeyValuePair<string, ChatStreamBuffer>(stream.RequestId, stream));
            }
        }

        ChatStreamBuffer[] mirrors;
        lock (_mirrorGate)
        {
            mirrors = [.. _mirrors.Values];
        }

        foreach (var mirror in mirrors)
        {
            Heartbeats(mirror, now, heartbeatMs);
        }
    }

    private static void Heartbeats(ChatStreamBuffer stream, long now, long heartbeatMs)
    {
        foreach (var reader in stream.Readers)
        {
            if (now - reader.LastSentAt >= heartbeatMs)
            {
                reader.RequestHeartbeat();
            }
        }
    }
}
