using System.Collections.Concurrent;
using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Upstream;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace GptAspire.Api.Services.Streams.Redis;

/// <summary>
/// Shares streams between API replicas over Redis (keys: <see cref="RedisStreamKeys"/>; scripts:
/// <see cref="RedisStreamScripts"/>). The owner of an answer writes its events with a fenced, gap-free append
/// (<see cref="RedisStreamWriter"/>); every other replica with readers keeps one mirror of it
/// (<see cref="RedisMirrorFeed"/>). Each replica holds a lease; when an owner's lease runs out (it died or stalled)
/// or it hands its answers over at shutdown, a replica with a reader takes the answer over: it bumps the epoch,
/// which fences the old owner off, and continues the generation from the last event in Redis.
/// </summary>
public sealed partial class RedisChatStreamBackplane(
    IConnectionMultiplexer redis,
    [FromKeyedServices(Extensions.Extensions.StreamsConnectionName)] IConnectionMultiplexer untraced,
    IOptions<ChatStreamsOptions> options,
    IOptions<JsonOptions> json,
    ILogger<RedisChatStreamBackplane> logger) : IChatStreamBackplane, IAsyncDisposable
{
    // A mirror with no event for this long asks whether its owner still holds its lease.
    private const int QuietMs = 1000;
    private static readonly TimeSpan WatchPeriod = TimeSpan.FromMilliseconds(500);

    private readonly string _replicaId = Guid.NewGuid().ToString("n");
    private readonly ChatStreamsOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, RedisStreamWriter> _writers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ChatStreamBuffer, RedisMirrorFeed> _feeds = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private HashSet<string> _readElsewhere = [];
    private IChatStreamHost? _host;
    private int _othersAlive;
    private int _subscribed;

    private IDatabase Db => redis.GetDatabase();

    internal ISubscriber Subscriber => redis.GetSubscriber();

    internal ILogger Logger => logger;

    public string? ReplicaId => _replicaId;

    public bool CanHandOver => Volatile.Read(ref _othersAlive) > 0;

    private long LiveMs => (long)_options.LiveKeyLifetime.TotalMilliseconds;

    private long LeaseMs => (long)_options.TakeoverAfter.TotalMilliseconds;

    public async Task StartAsync(IChatStreamHost host)
    {
        _host = host;
        _ = Task.Run(() => LeaseLoopAsync(_stopping.Token));
        _ = Task.Run(() => WatchLoopAsync(_stopping.Token));
        await EnsureSubscribedAsync();
    }

    public async ValueTask CreatedAsync(ChatStreamBuffer stream, StoredGeneration generation, CancellationToken cancellationToken) => await Guarded(async () =>
    {
        await EnsureSubscribedAsync();
        stream.ReleaseOnAppend(false);
        stream.SetEpoch(1);
        var request = JsonSerializer.Serialize(generation, json.Value.SerializerOptions);
        await CreateAsync(stream, request);
        var writer = new RedisStreamWriter(this, stream, request, durable: 0);
        _writers[stream.RequestId] = writer;
        writer.Start();
        return true;
    });

    private Task<RedisResult> CreateAsync(ChatStreamBuffer stream, string request) => Db.ScriptEvaluateAsync(
        RedisStreamScripts.Create,
        [RedisStreamKeys.Stream(stream.RequestId), RedisStreamKeys.Meta(stream.RequestId), RedisStreamKeys.Replica(_replicaId)],
        [_replicaId, stream.Epoch, request, stream.Principal ?? "", LiveMs, LeaseMs]);

    internal async Task SeedAgainAsync(ChatStreamBuffer stream, string request) => await CreateAsync(stream, request);

    // Redis down or slow: the caller answers 503 (StreamStoreUnavailableExceptionHandler), never 500.
    private static async Task<T> Guarded<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        // While StackExchange.Redis resets a dead connection, a pending call can also end cancelled or with the
        // pipe's InvalidOperationException: the same outage.
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException or OperationCanceledException)
        {
            throw new StreamStoreUnavailableException(e);
        }
    }

    public void Appended(ChatStreamBuffer stream)
    {
        if (_writers.TryGetValue(stream.RequestId, out var writer))
        {
            writer.Signal();
        }
    }

    /// <summary>One fenced append of <paramref name="frames"/> (events <paramref name="firstId"/> on); see <see cref="RedisStreamScripts.Append"/>.</summary>
    internal async Task<RedisResult[]> AppendAsync(ChatStreamBuffer stream, long firstId, List<ReadOnlyMemory<byte>> frames, bool ends)
    {
        var values = new RedisValue[6 + frames.Count];
        values[0] = stream.Epoch;
        values[1] = firstId;
        values[2] = LiveMs;
        values[3] = (long)_options.RetainFor.TotalMilliseconds;
        values[4] = ends ? 1 : 0;
        values[5] = RedisStreamKeys.Events(stream.RequestId).ToString();
        for (var i = 0; i < frames.Count; i++)
        {
            values[6 + i] = frames[i];
        }

        // Per-event writes go over the untraced connection: a span per token would bury the answer's trace.
        var result = await untraced.GetDatabase().ScriptEvaluateAsync(
            RedisStreamScripts.Append, [RedisStreamKeys.Stream(stream.RequestId), RedisStreamKeys.Meta(stream.RequestId)], values);
        return (RedisResult[])result!;
    }

    internal Task<StreamEntry[]> ReadAsync(string requestId, long fromId, int count) =>
        Db.StreamRangeAsync(RedisStreamKeys.Stream(requestId), EntryId(fromId), "+", count);

    private static RedisValue EntryId(long eventId) => RedisStreamWriter.Format(eventId) + "-1";

    /// <summary>The writer of <paramref name="stream"/> was fenced off: another replica owns the answer.</summary>
    internal void Fenced(ChatStreamBuffer stream)
    {
        _writers.TryRemove(stream.RequestId, out _);
        _host?.Relinquished(stream);
    }

    public async Task<bool> HandOverAsync(ChatStreamBuffer stream)
    {
        if (!_writers.TryGetValue(stream.RequestId, out var writer))
        {
            return false;
        }

        // Every event made so far goes to Redis first: the replica that continues starts after the last one.
        var deadline = Environment.TickCount64 + 3000;
        while (writer.Durable < stream.NextId && !writer.Done.IsCompleted && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }

        if (writer.Durable < stream.NextId || writer.Fenced)
        {
            return false;
        }

        writer.Stop();
        try
        {
            var handed = await Db.ScriptEvaluateAsync(
                RedisStreamScripts.HandOff, [RedisStreamKeys.Meta(stream.RequestId)], [stream.Epoch, RedisStreamKeys.Events(stream.RequestId).ToString()]);
            if ((int)handed != 1)
            {
                return false;
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return false;
        }

        _writers.TryRemove(stream.RequestId, out _);
        LogHandedOver(logger, stream.RequestId, stream.NextId);
        return true;
    }

    public async ValueTask<ChatStreamBuffer?> OpenMirrorAsync(string requestId, string? principal, CancellationToken cancellationToken) => await Guarded(async () =>
    {
        var feed = await OpenFeedAsync(requestId, principal);
        if (feed is null)
        {
            return null;
        }

        Db.StringSet(RedisStreamKeys.Read(requestId), _replicaId, _options.AbandonAfter, flags: CommandFlags.FireAndForget);
        return feed.Mirror;
    });

    // Null when no replica knows the answer, or it is another principal's (who then changes nothing: no mirror,
    // no presence, no takeover).
    private async Task<RedisMirrorFeed?> OpenFeedAsync(string requestId, string? principal)
    {
        var meta = await Db.HashGetAsync(RedisStreamKeys.Meta(requestId), ["owner", "state", "principal"]);
        if (meta[0].IsNull || (meta[2].IsNullOrEmpty ? null : meta[2].ToString()) != principal)
        {
            return null;
        }

        var mirror = ChatStreamBuffer.Mirror(requestId, principal, _options.MaxEventsPerStream, _options.MaxBytesPerStream);
        var feed = new RedisMirrorFeed(this, mirror, meta[0].ToString());
        _feeds[mirror] = feed;
        try
        {
            await feed.StartAsync();
        }
        catch
        {
            MirrorClosed(mirror);
            throw;
        }

        if (meta[1] == "handoff" || (meta[1] == "live" && !mirror.IsCompleted && !await Db.KeyExistsAsync(RedisStreamKeys.Replica(feed.Owner))))
        {
            feed.ClaimRequested = true;
            ClaimSoon(feed);
        }

        return feed;
    }

    public void MirrorClosed(ChatStreamBuffer mirror)
    {
        if (_feeds.TryRemove(mirror, out var feed))
        {
            feed.Close();
        }
    }

    public async ValueTask<StopOutcome> StopAsync(string requestId, string? principal, CancellationToken cancellationToken) => await Guarded(async () =>
    {
        var found = (RedisResult[])(await Db.ScriptEvaluateAsync(RedisStreamScripts.Stop, [RedisStreamKeys.Meta(requestId)], [principal ?? ""]))!;
        var state = (string?)found[0];
        if (state == "missing")
        {
            return StopOutcome.NotFound;
        }

        if (state == "ended")
        {
            return StopOutcome.AlreadyEnded;
        }

        var owner = (string)found[1]!;
        if (state == "live" && await Db.KeyExistsAsync(RedisStreamKeys.Replica(owner)))
        {
            await Subscriber.PublishAsync(RedisStreamKeys.StopChannel, requestId);
            return StopOutcome.Stopping;
        }

        // Its replica is gone (or handed it over): take it over here, where it ends stopped at once.
        var feed = await OpenFeedAsync(requestId, principal);
        if (feed is null)
        {
            return StopOutcome.NotFound;
        }

        var claimed = await TryClaimAsync(feed);
        if (!claimed)
        {
            MirrorClosed(feed.Mirror);
            if (feed.Mirror.IsCompleted)
            {
                return StopOutcome.AlreadyEnded;
            }

            // Someone else has it now; the stop flag is set, and its owner hears this too.
            await Subscriber.PublishAsync(RedisStreamKeys.StopChannel, requestId);
        }

        return StopOutcome.Stopping;
    });

    public bool IsReadElsewhere(ChatStreamBuffer stream) => Volatile.Read(ref _readElsewhere).Contains(stream.RequestId);

    /// <summary>Tries to take <paramref name="feed"/>'s answer over without waiting for the next watch.</summary>
    internal void ClaimSoon(RedisMirrorFeed feed) => _ = Task.Run(async () =>
    {
        try
        {
            await TryClaimAsync(feed);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogWatchFailed(logger, e.GetType().Name);
        }
    });

    /// <summary>
    /// Takes <paramref name="feed"/>'s answer over if its owner handed it over or lost its lease; true when this
    /// replica owns it now and the host continues (or ends) it.
    /// </summary>
    private async Task<bool> TryClaimAsync(RedisMirrorFeed feed)
    {
        var mirror = feed.Mirror;
        if (feed.IsClosed || mirror.IsCompleted || _host is null)
        {
            return false;
        }

        var previous = feed.Owner;
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(
            RedisStreamScripts.Claim,
            [RedisStreamKeys.Meta(mirror.RequestId), RedisStreamKeys.Replica(previous), RedisStreamKeys.Stream(mirror.RequestId)],
            [previous, _replicaId, LiveMs]))!;
        var epoch = (long)result[0];
        if (epoch == 0)
        {
            feed.Owner = (string)result[1]!;
            feed.ClaimRequested = false;
            return false;
        }

        if (epoch < 0)
        {
            await feed.CatchUpAsync();
            if (epoch == -1 && !mirror.IsCompleted)
            {
                // Redis lost the answer (a restart). Its owner, if alive, writes it again within moments: only after
                // two lease periods is it gone for good, and nobody can continue it.
                feed.MissingSince = feed.MissingSince == 0 ? Environment.TickCount64 : feed.MissingSince;
                if (Environment.TickCount64 - feed.MissingSince > 2 * LeaseMs)
                {
                    EndMirror(feed, "it is no longer in the shared store");
                }
            }

            return false;
        }

        feed.MissingSince = 0;

        var next = (long)result[1];
        for (var attempt = 0; attempt < 3 && mirror.NextId < next; attempt++)
        {
            await feed.CatchUpAsync();
        }

        feed.Close();
        _feeds.TryRemove(mirror, out _);
        if (mirror.NextId != next)
        {
            EndMirror(feed, "events are missing from the shared store");
            return false;
        }

        // A reader that has events Redis never got (its owner ran on while Redis was unreachable, then died) cannot
        // be continued exactly: it ends with an error that carries no id, so that no id means two things.
        var lost = GenerationEndings.ServerUnavailable();
        var idless = new ChatStreamFrameWriter(json.Value.SerializerOptions).EventWithoutId(ChatEventNames.Error, lost, lost.Code);
        foreach (var reader in mirror.Readers)
        {
            if (reader.Position >= next)
            {
                reader.EndWith(idless);
            }
        }

        var request = (string)result[4]!;
        var generation = JsonSerializer.Deserialize<StoredGeneration>(request, json.Value.SerializerOptions)!;
        mirror.Claim(epoch);
        mirror.ReleaseOnAppend(false);
        var writer = new RedisStreamWriter(this, mirror, request, durable: next);
        _writers[mirror.RequestId] = writer;
        writer.Start();

        var takeover = new Takeover(generation, StopRequested: (string?)result[2] == "1", TimeSpan.FromMilliseconds((long)result[3]), HandedOver: (int)result[5] == 1);
        LogTookOver(logger, mirror.RequestId, previous, epoch, next, takeover.HandedOver);
        _host.Adopt(mirror, takeover);
        return true;
    }

    // A mirror that cannot go on ends its readers here with an error (nothing is written to Redis).
    private void EndMirror(RedisMirrorFeed feed, string why)
    {
        var mirror = feed.Mirror;
        feed.Close();
        var error = GenerationEndings.ServerUnavailable();
        var frames = new ChatStreamFrameWriter(json.Value.SerializerOptions, mirror.NextId);
        mirror.Append(frames.Event(ChatEventNames.Error, error, error.Code));
        LogMirrorEnded(logger, mirror.RequestId, why);
    }

    private async Task EnsureSubscribedAsync()
    {
        if (Volatile.Read(ref _subscribed) == 1)
        {
            return;
        }

        await _subscribing.WaitAsync();
        try
        {
            if (_subscribed == 0)
            {
                await Subscriber.SubscribeAsync(RedisStreamKeys.StopChannel, (_, id) =>
                {
                    if (_host?.StopLocal(id.ToString()) == StopOutcome.Stopping)
                    {
                        LogStopped(logger, id.ToString());
                    }
                });
                Volatile.Write(ref _subscribed, 1);
            }
        }
        finally
        {
            _subscribing.Release();
        }
    }

    // The lease: renewed three times per TakeoverAfter, on its own loop, so that nothing else can delay it.
    private async Task LeaseLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(100, LeaseMs / 3)));
        var failing = false;
        do
        {
            try
            {
                var others = (int)await untraced.GetDatabase().ScriptEvaluateAsync(
                    RedisStreamScripts.Lease,
                    [RedisStreamKeys.Replica(_replicaId), RedisStreamKeys.Replicas],
                    [_replicaId, LeaseMs, (long)RedisStreamKeys.ReplicasLifetime.TotalMilliseconds]);
                Volatile.Write(ref _othersAlive, others);
                failing = false;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                Volatile.Write(ref _othersAlive, 0);
                if (!failing)
                {
                    failing = true;
                    LogTickUnavailable(logger, e.GetType().Name);
                }
            }
        }
        while (await WaitAsync(timer, cancellationToken));
    }

    // Presence, and takeovers: on its own loop, off the clock that sends heartbeats.
    private async Task WatchLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(WatchPeriod);
        var round = 0;
        while (await WaitAsync(timer, cancellationToken))
        {
            try
            {
                if (Volatile.Read(ref _subscribed) == 0)
                {
                    await EnsureSubscribedAsync();
                }

                if (round++ % 2 == 0)
                {
                    await PresenceAsync();
                }

                await TakeoversAsync();
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogWatchFailed(logger, e.GetType().Name);
            }
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // Readers here of other replicas' answers keep those answers from being abandoned; and which of this replica's
    // unread answers are read elsewhere.
    private async Task PresenceAsync()
    {
        var db = Db;
        foreach (var feed in _feeds.Values)
        {
            if (feed.Mirror.ReaderCount > 0 && !feed.Mirror.IsCompleted)
            {
                db.StringSet(RedisStreamKeys.Read(feed.Mirror.RequestId), _replicaId, _options.AbandonAfter, flags: CommandFlags.FireAndForget);
            }
        }

        var checks = new List<(string Id, Task<bool> Exists)>();
        foreach (var (id, writer) in _writers)
        {
            checks.Add((id, db.KeyExistsAsync(RedisStreamKeys.Read(id))));
        }

        var readElsewhere = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, exists) in checks)
        {
            if (await exists)
            {
                readElsewhere.Add(id);
            }
        }

        Volatile.Write(ref _readElsewhere, readElsewhere);
    }

    // A mirror with readers that has been quiet asks whether its owner still holds its lease; one whose owner lost it
    // (or handed it over) is taken over. A mirror stuck on a gap Redis cannot fill ends after two lease periods.
    private async Task TakeoversAsync()
    {
        var now = Environment.TickCount64;
        var db = Db;
        var quiet = new List<(RedisMirrorFeed Feed, Task<bool> Alive)>();
        foreach (var feed in _feeds.Values)
        {
            var mirror = feed.Mirror;
            if (mirror.IsCompleted || feed.IsClosed)
            {
                continue;
            }

            if (feed.GapSince != 0)
            {
                await feed.CatchUpAsync();
                if (feed.GapSince != 0 && now - feed.GapSince > 2 * LeaseMs)
                {
                    EndMirror(feed, "events are missing from the shared store");
                    continue;
                }
            }

            if (mirror.ReaderCount > 0 && (feed.ClaimRequested || now - mirror.LastUpstreamActivityAt > QuietMs))
            {
                quiet.Add((feed, feed.ClaimRequested ? Task.FromResult(false) : db.KeyExistsAsync(RedisStreamKeys.Replica(feed.Owner))));
            }
        }

        foreach (var (feed, alive) in quiet)
        {
            if (!await alive)
            {
                await TryClaimAsync(feed);
            }
            else if (feed.MissingSince != 0 || now - feed.CaughtUpAt > 2 * QuietMs)
            {
                // The owner lives but nothing came: a publication may have been lost (Redis restarted, this
                // replica resubscribed after the owner wrote the answer again). Read what Redis has.
                feed.CaughtUpAt = now;
                await feed.CatchUpAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            // Gone at once rather than when the lease runs out; over the untraced connection, whose telemetry is not
            // disposed before this.
            var db = untraced.GetDatabase();
            await Task.WhenAll(db.KeyDeleteAsync(RedisStreamKeys.Replica(_replicaId)), db.SortedSetRemoveAsync(RedisStreamKeys.Replicas, _replicaId))
                .WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception)
        {
            // Shutting down: the lease runs out by itself.
        }

        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The shared stream store (Redis) cannot be reached: {Failure}")]
    private static partial void LogTickUnavailable(ILogger logger, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching shared streams failed: {Failure}; trying again")]
    private static partial void LogWatchFailed(ILogger logger, string failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat stream {RequestId} stopped at another replica's request")]
    private static partial void LogStopped(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat stream {RequestId} handed over after {Events} events")]
    private static partial void LogHandedOver(ILogger logger, string requestId, long events);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId} taken over from replica {Replica} (epoch {Epoch}, from event {NextId}, handed over: {HandedOver})")]
    private static partial void LogTookOver(ILogger logger, string requestId, string replica, long epoch, long nextId, bool handedOver);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId}: its readers here end with server_unavailable: {Why}")]
    private static partial void LogMirrorEnded(ILogger logger, string requestId, string why);
}
