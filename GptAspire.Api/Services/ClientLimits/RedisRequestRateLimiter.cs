using System.Threading.RateLimiting;
using GptAspire.Api.Services.Streams;
using RedisRateLimiting;
using StackExchange.Redis;

namespace GptAspire.Api.Services.ClientLimits;

/// <summary>
/// A client's request rate across all replicas: the token bucket of <see cref="ChatRateLimitOptions"/> kept in the
/// shared Redis (RedisRateLimiting's <see cref="RedisTokenBucketRateLimiter{TKey}"/>: one script per request, on the
/// keys <c>rl:tb:{gptaspire:chat:&lt;client&gt;}</c> and <c>…:ts</c>), shaped like the in-memory
/// <see cref="TokenBucketRateLimiter"/> it stands in for: a refusal carries <see cref="MetadataName.RetryAfter"/>,
/// and Redis down is a <see cref="StreamStoreUnavailableException"/> (503 with <c>Retry-After</c>), never a 500.
/// </summary>
/// <remarks>
/// It fails closed: without Redis no stream can start or resume anyway, and a fallback to per-replica buckets would
/// give each client N times its budget exactly when the operator is busy with the outage.
/// </remarks>
public sealed class RedisRequestRateLimiter(string clientKey, ChatRateLimitOptions limits, IConnectionMultiplexer redis) : RateLimiter
{
    private readonly RedisTokenBucketRateLimiter<string> _bucket = new("gptaspire:chat:" + clientKey, new RedisTokenBucketRateLimiterOptions
    {
        ConnectionMultiplexerFactory = () => redis,
        TokenLimit = limits.BurstLimit,
        TokensPerPeriod = limits.RequestsPerPeriod,
        ReplenishmentPeriod = limits.ReplenishmentPeriod,
    });

    public override TimeSpan? IdleDuration => _bucket.IdleDuration;

    // RedisRateLimiting keeps no statistics (it throws): none to give.
    public override RateLimiterStatistics? GetStatistics() => null;

    // Never in memory: the ASP.NET Core middleware then asks AcquireAsync, which goes to Redis.
    protected override RateLimitLease AttemptAcquireCore(int permitCount) => _bucket.AttemptAcquire(permitCount);

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        RateLimitLease lease;
        try
        {
            lease = await _bucket.AcquireAsync(permitCount, cancellationToken);
        }
        // While StackExchange.Redis resets a dead connection, a pending call can also end cancelled or with the
        // pipe's InvalidOperationException: the same outage, and a 503, not a 500.
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new StreamStoreUnavailableException(e);
        }

        if (lease.IsAcquired)
        {
            return lease;
        }

        var seconds = lease.TryGetMetadata(RateLimitMetadataName.RetryAfter, out var retryAfter) ? retryAfter : 1;
        lease.Dispose();
        return new RefusedLease(TimeSpan.FromSeconds(Math.Max(1, seconds)));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _bucket.Dispose();
        }
    }

    private sealed class RefusedLease(TimeSpan retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
            return metadata is not null;
        }
    }
}
