using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using GptAspire.Api.Services.Streams;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace GptAspire.Api.Services.ClientLimits;

/// <summary>
/// The running-generations cap across all replicas. Each client has a sorted set in the shared Redis,
/// <c>gptaspire:generations:{client}</c>, of lease ids scored by when they expire (Redis's own clock, so the
/// replicas' clocks do not matter). Acquiring is one script: drop the expired leases, count, add one if under the
/// cap. A lease lasts <see cref="ChatRateLimitOptions.GenerationLeaseTime"/> and this process renews all of its
/// leases every third of that from one timer, so a replica that dies mid-generation (kill -9, a lost node) frees
/// its slots within the lease time; one that ends its generation removes the lease at once.
/// </summary>
/// <remarks>
/// Redis down when a generation starts: <see cref="StreamStoreUnavailableException"/> (503 with <c>Retry-After</c>,
/// as for the stream itself, which needs the same Redis). Redis down while generations run: renewals fail and
/// are retried on the next tick; a lease that expired meanwhile is not added back (its slot is free for others),
/// so after an outage longer than the lease time a client may briefly run more than its cap.
/// </remarks>
public sealed partial class RedisClientGenerationLimiter : IClientGenerationLimiter, IDisposable
{
    private const string KeyPrefix = "gptaspire:generations:";

    // KEYS[1] the client's set; ARGV: cap, lease time (ms), lease id. 1 when acquired, 0 when the cap is reached.
    internal const string AcquireScript = """
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
          return 0
        end
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1
        """;

    // KEYS[1] the client's set; ARGV: lease time (ms), lease id. Only a lease still there is renewed: one released
    // (or expired) meanwhile is never added back. 1 when renewed, 0 when gone.
    internal const string RenewScript = """
        if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
          return 0
        end
        local t = redis.call('TIME')
        local now = t[1] * 1000 + math.floor(t[2] / 1000)
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return 1
        """;

    private static readonly RateLimitLease Refused = new RefusedLease();

    private readonly IConnectionMultiplexer _redis;
    private readonly IConnectionMultiplexer _untraced;
    private readonly ILogger<RedisClientGenerationLimiter> _logger;
    private readonly int _limit;
    private readonly long _leaseMilliseconds;
    private readonly ConcurrentDictionary<Lease, byte> _held = new();
    private readonly Timer _renewal;
    private int _renewing;

    public RedisClientGenerationLimiter(
        IConnectionMultiplexer redis,
        [FromKeyedServices(Extensions.Extensions.StreamsConnectionName)] IConnectionMultiplexer untraced,
        IOptions<ChatRateLimitOptions> options,
        ILogger<RedisClientGenerationLimiter> logger)
    {
        _redis = redis;
        // Renewals and releases happen outside any request: a span for each would be noise.
        _untraced = untraced;
        _logger = logger;
        _limit = options.Value.ConcurrentGenerations;
        var leaseTime = options.Value.GenerationLeaseTime;
        _leaseMilliseconds = (long)leaseTime.TotalMilliseconds;
        _renewal = new Timer(_ => _ = RenewAsync(), null, leaseTime / 3, leaseTime / 3);
    }

    /// <summary>The Redis key of the leases of <paramref name="clientKey"/>.</summary>
    public static RedisKey KeyOf(string clientKey) => KeyPrefix + clientKey;

    public async ValueTask<RateLimitLease> TryAcquireAsync(string clientKey, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = KeyOf(clientKey);
        var id = Guid.NewGuid().ToString("n");
        RedisResult acquired;
        try
        {
            acquired = await _redis.GetDatabase().ScriptEvaluateAsync(AcquireScript, [key], [_limit, _leaseMilliseconds, id]);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new StreamStoreUnavailableException(e);
        }

        if ((int)acquired == 0)
        {
            return Refused;
        }

        var lease = new Lease(this, key, id);
        _held[lease] = 0;
        return lease;
    }

    private void Release(Lease lease)
    {
        if (!_held.TryRemove(lease, out _))
        {
            return;
        }

        try
        {
            _untraced.GetDatabase().SortedSetRemove(lease.Key, lease.Id, CommandFlags.FireAndForget);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // Not renewed any more, the lease expires by itself.
            LogReleaseFailed(_logger, e.GetType().Name);
        }
    }

    /// <summary>Renews every lease this process holds: one pipelined batch of scripts, one round trip.</summary>
    internal async Task RenewAsync()
    {
        if (_held.IsEmpty || Interlocked.Exchange(ref _renewing, 1) == 1)
        {
            return;
        }

        try
        {
            var batch = _untraced.GetDatabase().CreateBatch();
            var renewals = _held.Keys.Select(lease => batch.ScriptEvaluateAsync(RenewScript, [lease.Key], [_leaseMilliseconds, lease.Id])).ToList();
            batch.Execute();
            var results = await Task.WhenAll(renewals);
            var lost = results.Count(r => (int)r == 0);
            if (lost > 0)
            {
                LogLeasesLost(_logger, lost);
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            LogRenewalFailed(_logger, e.GetType().Name);
        }
        finally
        {
            Volatile.Write(ref _renewing, 0);
        }
    }

    public void Dispose() => _renewal.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Running-generation leases could not be renewed in Redis: {Failure}; they expire unless a later renewal succeeds")]
    private static partial void LogRenewalFailed(ILogger logger, string failure);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} running-generation leases had expired in Redis before their renewal: their slots were free for other generations")]
    private static partial void LogLeasesLost(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A running-generation lease could not be released in Redis ({Failure}): it expires by itself")]
    private static partial void LogReleaseFailed(ILogger logger, string failure);

    private sealed class Lease(RedisClientGenerationLimiter owner, RedisKey key, string id) : RateLimitLease
    {
        public RedisKey Key { get; } = key;

        public string Id { get; } = id;

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }

        protected override void Dispose(bool disposing) => owner.Release(this);
    }

    private sealed class RefusedLease : RateLimitLease
    {
        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
