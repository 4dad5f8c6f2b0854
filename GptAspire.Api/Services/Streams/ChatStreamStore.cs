using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// Where generations live while they run and for <see cref="ChatStreamsOptions.RetainFor"/> after: in this
/// process, and through an <see cref="IChatStreamBackplane"/> (Redis) for the other replicas when there is one.
/// Bounded: a limit on live generations (503 past it), on retained streams, and on each stream's events and bytes.
/// </summary>
public sealed class ChatStreamStore(IOptions<ChatStreamsOptions> options, IChatStreamBackplane? backplane = null)
{
    private readonly ConcurrentDictionary<string, ChatStreamBuffer> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ChatStreamBuffer, byte> _mirrors = new();
    private readonly ChatStreamsOptions _options = options.Value;
    private int _live;
    private volatile bool _closed;

    public ChatStreamsOptions Options => _options;

    /// <summary>This replica's id when streams are shared between replicas; null with one replica.</summary>
    public string? ReplicaId => backplane?.ReplicaId;

    /// <summary>Connects the backplane (if any), so that stops from other replicas reach this one's generations.</summary>
    public Task StartAsync() => backplane?.StartAsync(StopLocal) ?? Task.CompletedTask;

    /// <summary>Generations running in this process.</summary>
    public int LiveCount => Volatile.Read(ref _live);

    /// <summary>
    /// A buffer for a new generation, or null when the API is full (or shutting down): answer 503 with
    /// <see cref="ChatStreamsOptions.RetryAfterWhenFull"/>.
    /// </summary>
    public async ValueTask<ChatStreamBuffer?> TryCreateAsync(string requestId, CancellationToken cancellationToken)
    {
        if (_closed)
        {
            return null;
        }

        if (Interlocked.Increment(ref _live) > _options.MaxLiveStreams)
        {
            Interlocked.Decrement(ref _live);
            return null;
        }

        var stream = new ChatStreamBuffer(requestId, _options.MaxEventsPerStream, _options.MaxBytesPerStream);
        _local[requestId] = stream;
        if (backplane is not null)
        {
            try
            {
                await backplane.CreatedAsync(stream, cancellationToken);
            }
            catch
            {
                _local.TryRemove(requestId, out _);
                Interlocked.Decrement(ref _live);
                throw;
            }
        }

        return stream;
    }

    /// <summary>Appends an event (not the last) of a generation of this process, and publishes it to the other replicas.</summary>
    public AppendResult Append(ChatStreamBuffer stream, ChatStreamEvent item)
    {
        if (item.IsTerminal)
        {
            throw new ArgumentException("The last event goes through CompleteAsync.", nameof(item));
        }

        var result = stream.Append(item);
        if (result == AppendResult.Appended)
        {
            backplane?.Published(stream, item);
        }

        return result;
    }

    /// <summary>
    /// Appends the last event of a generation of this process. With a backplane it is stored there first, so that
    /// when a reader sees the end, every replica already knows the stream has ended.
    /// </summary>
    public async Task CompleteAsync(ChatStreamBuffer stream, ChatStreamEvent last)
    {
        try
        {
            if (backplane is not null)
            {
                await backplane.CompletedAsync(stream, last);
            }
        }
        finally
        {
            // Readers here get the end even if Redis failed; the other replicas' readers end on the owner's lease.
            if (stream.Append(last) == AppendResult.Appended)
            {
                Interlocked.Decrement(ref _live);
            }
        }
    }

    /// <summary>
    /// A reader of stream <paramref name="requestId"/> after event <paramref name="afterId"/>, wherever it runs,
    /// or null when no replica knows it (never existed, or expired).
    /// </summary>
    public async ValueTask<ChatStreamReader?> OpenAsync(string requestId, long afterId, CancellationToken cancellationToken)
    {
        if (_local.TryGetValue(requestId, out var stream))
        {
            return stream.AttachReader(afterId);
        }

        if (backplane is null)
        {
            return null;
        }

        var mirror = await backplane.OpenMirrorAsync(requestId, cancellationToken);
        if (mirror is null)
        {
            return null;
        }

        _mirrors[mirror] = 0;
        return mirror.AttachReader(afterId);
    }

    /// <summary>Called when a reader is done: a mirror without readers is closed at once.</summary>
    public void Release(ChatStreamReader reader)
    {
        reader.Dispose();
        var stream = reader.Stream;
        if (stream.IsMirror && stream.ReaderCount == 0 && _mirrors.TryRemove(stream, out _))
        {
            backplane!.MirrorClosed(stream);
        }
    }

    /// <summary>Stops a generation wherever it runs.</summary>
    public ValueTask<StopOutcome> StopAsync(string requestId, CancellationToken cancellationToken)
    {
        if (_local.TryGetValue(requestId, out var stream))
        {
            return ValueTask.FromResult(Stop(stream));
        }

        return backplane?.StopAsync(requestId, cancellationToken) ?? ValueTask.FromResult(StopOutcome.NotFound);
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

    /// <summary>Refuses new generations and ends every live one with <c>server_shutting_down</c>.</summary>
    public void Close()
    {
        _closed = true;
        foreach (var stream in _local.Values)
        {
            stream.TryAbort(GenerationAbortReason.ShuttingDown);
        }
    }

    /// <summary>True once <see cref="Close"/> ran and every generation of this process has written its last event.</summary>
    public bool Drained => _closed && LiveCount == 0;

    /// <summary>
    /// The clock of all streams, about once a second: heartbeats for silent readers, abandoned, stalled and
    /// too-long generations, expiry of finished streams, and the backplane's presence and liveness.
    /// </summary>
    public async ValueTask TickAsync(TimeSpan heartbeatInterval, TimeSpan upstreamIdleTimeout, TimeSpan maxAnswerDuration, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        var heartbeatMs = (long)heartbeatInterval.TotalMilliseconds;
        var local = new List<ChatStreamBuffer>(_local.Count);
        List<ChatStreamBuffer>? retained = null;

        foreach (var stream in _local.Values)
        {
            Heartbeats(stream, now, heartbeatMs);
            if (stream.IsCompleted)
            {
                if (now - stream.CompletedAt >= _options.RetainFor.TotalMilliseconds)
                {
                    _local.TryRemove(stream.RequestId, out _);
                }
                else
                {
                    (retained ??= []).Add(stream);
                }

                continue;
            }

            local.Add(stream);
            if (stream.ReaderCount == 0
                && now - stream.LastReaderLeftAt >= _options.AbandonAfter.TotalMilliseconds
                && backplane?.IsReadElsewhere(stream) != true)
            {
                stream.TryAbort(GenerationAbortReason.Abandoned);
            }
            else if (now - stream.LastUpstreamActivityAt >= upstreamIdleTimeout.TotalMilliseconds)
            {
                stream.TryAbort(GenerationAbortReason.UpstreamIdle);
            }
            else if (now - stream.StartedAt >= maxAnswerDuration.TotalMilliseconds)
            {
                stream.TryAbort(GenerationAbortReason.TooLong);
            }
        }

        if (retained is not null && retained.Count > _options.MaxRetainedStreams)
        {
            retained.Sort((a, b) => a.CompletedAt.CompareTo(b.CompletedAt));
            foreach (var stream in retained.Take(retained.Count - _options.MaxRetainedStreams))
            {
                _local.TryRemove(stream.RequestId, out _);
            }
        }

        var mirrors = new List<ChatStreamBuffer>(_mirrors.Count);
        foreach (var mirror in _mirrors.Keys)
        {
            Heartbeats(mirror, now, heartbeatMs);
            mirrors.Add(mirror);
        }

        if (backplane is not null)
        {
            await backplane.TickAsync(local, mirrors, cancellationToken);
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
