using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Chat;
using GptAspire.Api.Services.Upstream;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace GptAspire.Api.Services.Streams;

/// <summary>
/// Shares streams between API replicas over Redis. The generating replica appends each event to a Redis stream
/// (<c>gptaspire:stream:{id}</c>, entry id <c>{eventId}-1</c>, with a length cap and an expiry) and announces it on
/// a pub/sub channel; another replica's mirror reads the entries after its last id whenever told (and once at
/// first). Stops travel on one channel to every replica; readers' presence and replicas' liveness are keys with
/// a time to live, refreshed by the clock.
/// </summary>
public sealed partial class RedisChatStreamBackplane(
    IConnectionMultiplexer redis,
    [FromKeyedServices(Extensions.Extensions.StreamsConnectionName)] IConnectionMultiplexer untraced,
    IOptions<ChatStreamsOptions> options,
    IOptions<ChatStreamOptions> chatOptions,
    IOptions<JsonOptions> json,
    ILogger<RedisChatStreamBackplane> logger) : IChatStreamBackplane
{
    private const string Prefix = "gptaspire:";
    private static readonly RedisChannel StopChannel = RedisChannel.Literal(Prefix + "stop");
    private static readonly TimeSpan ReplicaLease = TimeSpan.FromSeconds(10);

    private readonly string _replicaId = Guid.NewGuid().ToString("n");
    private readonly ChatStreamsOptions _options = options.Value;
    private readonly ConcurrentDictionary<ChatStreamBuffer, MirrorFeed> _feeds = new();
    private readonly ISubscriber _untracedSubscriber = untraced.GetSubscriber();
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private HashSet<string> _readElsewhere = [];
    private Func<string, StopOutcome>? _stopLocal;
    private bool _subscribed;

    private IDatabase Db => redis.GetDatabase();

    public string ReplicaId => _replicaId;

    private ILogger Logger => logger;

    private static RedisKey StreamKey(string id) => Prefix + "stream:" + id;
    private static RedisKey MetaKey(string id) => Prefix + "stream:" + id + ":meta";
    private static RedisKey ReadKey(string id) => Prefix + "stream:" + id + ":read";
    private static RedisKey ReplicaKey(string replica) => Prefix + "replica:" + replica;
    private static RedisChannel EventsChannel(string id) => RedisChannel.Literal(Prefix + "stream:" + id);
    // An entry: the event's name (n), its SSE frame (f) and, for an error, its code (c).
    private static NameValueEntry[] Fields(ChatStreamEvent item) => item.ErrorCode is null
        ? [new("n", item.Name), new("f", item.Frame)]
        : [new("n", item.Name), new("f", item.Frame), new("c", item.ErrorCode)];

    private static RedisValue EntryId(long eventId) => eventId.ToString(CultureInfo.InvariantCulture) + "-1";

    public Task StartAsync(Func<string, StopOutcome> stopLocal)
    {
        _stopLocal = stopLocal;
        return EnsureSubscribedAsync();
    }

    public async ValueTask CreatedAsync(ChatStreamBuffer stream, CancellationToken cancellationToken) => await Guarded(async () =>
    {
        await EnsureSubscribedAsync();
        var db = Db;
        var meta = MetaKey(stream.RequestId);
        // This replica's lease exists before its first generation does: a stop elsewhere checks it.
        db.StringSet(ReplicaKey(_replicaId), "1", ReplicaLease, flags: CommandFlags.FireAndForget);
        // Live for as long as an answer may take, then kept like any finished stream.
        var lifetime = chatOptions.Value.MaxAnswerDuration + _options.RetainFor + TimeSpan.FromMinutes(1);
        // Both go out before either is awaited: one round trip, in order on the one connection.
        await Task.WhenAll(db.HashSetAsync(meta, [new("owner", _replicaId), new("state", "live")]), db.KeyExpireAsync(meta, lifetime));
        return true;
    });

    // Redis down or slow: the caller answers 503 (StreamStoreUnavailableExceptionHandler), never 500.
    private static async Task<T> Guarded<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw new StreamStoreUnavailableException(e);
        }
    }

    public void Published(ChatStreamBuffer stream, ChatStreamEvent item)
    {
        var db = untraced.GetDatabase();
        var key = StreamKey(stream.RequestId);
        var fields = Fields(item);
        // Fire and forget keeps the generation off Redis's round trip; one connection keeps the order.
        db.StreamAdd(key, fields, EntryId(item.Id), maxLength: _options.MaxEventsPerStream, flags: CommandFlags.FireAndForget);
        _untracedSubscriber.Publish(EventsChannel(stream.RequestId), item.Id, CommandFlags.FireAndForget);
        if (item.Id == 0)
        {
            db.KeyExpire(key, chatOptions.Value.MaxAnswerDuration + _options.RetainFor + TimeSpan.FromMinutes(1), flags: CommandFlags.FireAndForget);
        }

    }

    public async Task CompletedAsync(ChatStreamBuffer stream, ChatStreamEvent last)
    {
        // The same connection as the events before it, so it lands after them.
        var db = untraced.GetDatabase();
        var key = StreamKey(stream.RequestId);
        var meta = MetaKey(stream.RequestId);
        var fields = Fields(last);
        var batch = db.CreateBatch();
        var writes = new Task[]
        {
            batch.StreamAddAsync(key, fields, EntryId(last.Id), maxLength: _options.MaxEventsPerStream),
            batch.HashSetAsync(meta, "state", "ended"),
            batch.KeyExpireAsync(key, _options.RetainFor),
            batch.KeyExpireAsync(meta, _options.RetainFor),
        };
        batch.Execute();
        await Task.WhenAll(writes);
        _untracedSubscriber.Publish(EventsChannel(stream.RequestId), last.Id, CommandFlags.FireAndForget);
    }

    public async ValueTask<ChatStreamBuffer?> OpenMirrorAsync(string requestId, CancellationToken cancellationToken) => await Guarded(async () =>
    {
        var owner = await Db.HashGetAsync(MetaKey(requestId), "owner");
        if (owner.IsNull)
        {
            return null;
        }

        var mirror = ChatStreamBuffer.Mirror(requestId);
        var feed = new MirrorFeed(this, mirror, owner.ToString());
        _feeds[mirror] = feed;
        try
        {
            await redis.GetSubscriber().SubscribeAsync(EventsChannel(requestId), feed.Announced);
            // The entries so far; announcements from now on pull the rest.
            await feed.PullAsync(throwOnFailure: true);
        }
        catch
        {
            MirrorClosed(mirror);
            throw;
        }

        Db.StringSet(ReadKey(requestId), _replicaId, _options.AbandonAfter, flags: CommandFlags.FireAndForget);
        return mirror;
    });

    public void MirrorClosed(ChatStreamBuffer mirror)
    {
        if (_feeds.TryRemove(mirror, out var feed))
        {
            // Only this mirror's handler: other readers of the same answer on this replica keep theirs.
            redis.GetSubscriber().Unsubscribe(EventsChannel(mirror.RequestId), feed.Announced, CommandFlags.FireAndForget);
            feed.Close();
        }
    }

    public async ValueTask<StopOutcome> StopAsync(string requestId, CancellationToken cancellationToken) => await Guarded(async () =>
    {
        var meta = await Db.HashGetAllAsync(MetaKey(requestId));
        var state = meta.FirstOrDefault(e => e.Name == "state").Value;
        if (state.IsNull)
        {
            return StopOutcome.NotFound;
        }

        // Ended, or its replica died (its readers get server_unavailable): a stop changes nothing.
        var owner = meta.FirstOrDefault(e => e.Name == "owner").Value;
        if (state == "ended" || owner.IsNull || !await Db.KeyExistsAsync(ReplicaKey(owner.ToString())))
        {
            return StopOutcome.AlreadyEnded;
        }

        await redis.GetSubscriber().PublishAsync(StopChannel, requestId);
        return StopOutcome.Stopping;
    });

    public bool IsReadElsewhere(ChatStreamBuffer stream) => Volatile.Read(ref _readElsewhere).Contains(stream.RequestId);

    public async ValueTask TickAsync(IReadOnlyList<ChatStreamBuffer> local, IReadOnlyList<ChatStreamBuffer> mirrors, CancellationToken cancellationToken)
    {
        try
        {
            await EnsureSubscribedAsync();
            await TickCoreAsync(local, mirrors);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Once per tick at most, without a stack trace: an outage, visible in the health check too.
            LogTickUnavailable(logger, e.GetType().Name);
        }
    }

    private async Task TickCoreAsync(IReadOnlyList<ChatStreamBuffer> local, IReadOnlyList<ChatStreamBuffer> mirrors)
    {
        var db = Db;
        db.StringSet(ReplicaKey(_replicaId), "1", ReplicaLease, flags: CommandFlags.FireAndForget);

        foreach (var mirror in mirrors)
        {
            if (mirror.ReaderCount > 0)
            {
                db.StringSet(ReadKey(mirror.RequestId), _replicaId, _options.AbandonAfter, flags: CommandFlags.FireAndForget);
            }
        }

        // Which of this replica's generations, unread here, are read on another replica.
        var unread = local.Where(s => s.ReaderCount == 0).ToList();
        var readElsewhere = new HashSet<string>(StringComparer.Ordinal);
        if (unread.Count > 0)
        {
            var checks = unread.Select(s => (s.RequestId, Exists: db.KeyExistsAsync(ReadKey(s.RequestId)))).ToList();
            foreach (var (id, exists) in checks)
            {
                if (await exists)
                {
                    readElsewhere.Add(id);
                }
            }
        }

        Volatile.Write(ref _readElsewhere, readElsewhere);

        // A quiet mirror catches up in case an announcement was lost; one whose generating replica lost its lease
        // gets a last event, once for all readers.
        var quietMs = chatOptions.Value.HeartbeatInterval.TotalMilliseconds;
        foreach (var mirror in mirrors)
        {
            if (mirror.IsCompleted || Environment.TickCount64 - mirror.LastUpstreamActivityAt <= quietMs || !_feeds.TryGetValue(mirror, out var feed))
            {
                continue;
            }

            if (await db.KeyExistsAsync(ReplicaKey(feed.Owner)))
            {
                await feed.PullAsync();
            }
            else
            {
                await EndOrphanAsync(mirror, feed);
            }
        }
    }

    private async Task EndOrphanAsync(ChatStreamBuffer mirror, MirrorFeed feed)
    {
        var nextId = mirror.NextId;
        var frames = new ChatStreamFrameWriter(json.Value.SerializerOptions, nextId);
        var error = UpstreamErrors.ServerUnavailable();
        var item = frames.Event(ChatEventNames.Error, error, error.Code);
        try
        {
            // An explicit entry id succeeds only if nobody appended since: the first replica to notice wins.
            await Db.StreamAddAsync(StreamKey(mirror.RequestId), Fields(item), EntryId(item.Id));
            await Db.HashSetAsync(MetaKey(mirror.RequestId), "state", "ended");
            LogOrphaned(logger, mirror.RequestId, feed.Owner);
        }
        catch (RedisServerException)
        {
            // Someone appended first; the pull below gets it.
        }

        await feed.PullAsync();
    }

    private async Task EnsureSubscribedAsync()
    {
        if (Volatile.Read(ref _subscribed))
        {
            return;
        }

        await _subscribing.WaitAsync();
        try
        {
            if (!_subscribed)
            {
                await redis.GetSubscriber().SubscribeAsync(StopChannel, (_, id) =>
                {
                    if (_stopLocal?.Invoke(id.ToString()) == StopOutcome.Stopping)
                    {
                        LogStopped(logger, id.ToString());
                    }
                });
                Volatile.Write(ref _subscribed, true);
            }
        }
        finally
        {
            _subscribing.Release();
        }
    }

    /// <summary>Copies a remote generation's entries into a mirror, one pull at a time, in order.</summary>
    private sealed class MirrorFeed
    {
        private readonly SemaphoreSlim _pulling = new(1, 1);
        private readonly RedisChatStreamBackplane _backplane;
        private readonly ChatStreamBuffer _mirror;
        private int _pending;
        private volatile bool _closed;

        public MirrorFeed(RedisChatStreamBackplane backplane, ChatStreamBuffer mirror, string owner)
        {
            _backplane = backplane;
            _mirror = mirror;
            Owner = owner;
            Announced = (_, _) => Pull();
        }

        public string Owner { get; }

        /// <summary>This mirror's own subscription handler, so that it can be removed alone.</summary>
        public Action<RedisChannel, RedisValue> Announced { get; }

        public void Pull()
        {
            // Announcements that arrive during a pull are served by one more pull, not one each.
            if (Interlocked.Exchange(ref _pending, 1) == 0)
            {
                _ = PullAsync();
            }
        }

        public async Task PullAsync(bool throwOnFailure = false)
        {
            var backplane = _backplane;
            var mirror = _mirror;
            await _pulling.WaitAsync();
            try
            {
                Volatile.Write(ref _pending, 0);
                while (!_closed && !mirror.IsCompleted)
                {
                    var next = mirror.NextId;
                    var entries = await backplane.Db.StreamRangeAsync(StreamKey(mirror.RequestId), EntryId(next), "+", count: 512);
                    foreach (var entry in entries)
                    {
                        var entryId = (string)entry.Id!;
                        var id = long.Parse(entryId.AsSpan(0, entryId.IndexOf('-')), CultureInfo.InvariantCulture);
                        if (id != mirror.NextId)
                        {
                            continue;
                        }

                        var code = entry["c"];
                        mirror.Append(new ChatStreamEvent(id, entry["n"]!, (byte[])entry["f"]!, code.IsNull ? null : code.ToString()));
                    }

                    if (entries.Length < 512)
                    {
                        break;
                    }
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException && !throwOnFailure)
            {
                LogPullFailed(backplane.Logger, mirror.RequestId, e.GetType().Name);
            }
            finally
            {
                _pulling.Release();
            }
        }

        public void Close() => _closed = true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The shared stream store (Redis) cannot be reached: {Failure}")]
    private static partial void LogTickUnavailable(ILogger logger, string failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "Chat stream {RequestId} stopped at another replica's request")]
    private static partial void LogStopped(ILogger logger, string requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId} ended: its replica {Replica} stopped before the answer did")]
    private static partial void LogOrphaned(ILogger logger, string requestId, string replica);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat stream {RequestId}: reading from Redis failed ({Failure}); will retry on the next event")]
    private static partial void LogPullFailed(ILogger logger, string requestId, string failure);
}
