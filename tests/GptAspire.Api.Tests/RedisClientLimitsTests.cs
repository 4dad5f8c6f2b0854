using System.Threading.RateLimiting;
using GptAspire.Api.Services.ClientLimits;
using GptAspire.Api.Services.Streams;
using GptAspire.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace GptAspire.Api.Tests;

/// <summary>One redis-server for the tests of the shared limits' scripts.</summary>
public sealed class RedisLimitsFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public IConnectionMultiplexer Redis { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        Redis = await ConnectionMultiplexer.ConnectAsync(_server.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        if (Redis is not null) await Redis.DisposeAsync();
        if (_server is not null) await _server.DisposeAsync();
    }
}

/// <summary>
/// The limits that hold across replicas, against a real redis-server: each limiter instance here stands for a
/// replica, all of them over the one Redis.
/// </summary>
public class RedisClientLimitsTests(RedisLimitsFixture fixture) : IClassFixture<RedisLimitsFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewClient() => "ip:test-" + Guid.NewGuid().ToString("n");

    private RedisClientGenerationLimiter Replica(int cap, TimeSpan leaseTime) => new(
        fixture.Redis, fixture.Redis,
        Options.Create(new ChatRateLimitOptions { ConcurrentGenerations = cap, GenerationLeaseTime = leaseTime }),
        NullLogger<RedisClientGenerationLimiter>.Instance);

    [Fact]
    public async Task The_generations_cap_counts_the_leases_of_every_replica_and_a_released_one_frees_its_slot_at_once()
    {
        using var a = Replica(cap: 2, TimeSpan.FromSeconds(30));
        using var b = Replica(cap: 2, TimeSpan.FromSeconds(30));
        var client = NewClient();

        var onA = await a.TryAcquireAsync(client, Ct);
        using var onB = await b.TryAcquireAsync(client, Ct);
        using var thirdOnA = await a.TryAcquireAsync(client, Ct);
        using var thirdOnB = await b.TryAcquireAsync(client, Ct);
        using var otherClient = await b.TryAcquireAsync(NewClient(), Ct);

        Assert.True(onA.IsAcquired);
        Assert.True(onB.IsAcquired);
        Assert.False(thirdOnA.IsAcquired);
        Assert.False(thirdOnB.IsAcquired);
        Assert.True(otherClient.IsAcquired);

        onA.Dispose();
        using var afterRelease = await b.TryAcquireAsync(client, Ct);
        Assert.True(afterRelease.IsAcquired);
        Assert.Equal(2, await fixture.Redis.GetDatabase().SortedSetLengthAsync(RedisClientGenerationLimiter.KeyOf(client)));
    }

    [Fact]
    public async Task A_lease_its_replica_stopped_renewing_expires_within_the_lease_time_while_renewed_ones_stay_counted()
    {
        var leaseTime = TimeSpan.FromSeconds(1);
        var dead = Replica(cap: 2, leaseTime);
        using var alive = Replica(cap: 2, leaseTime);
        var client = NewClient();

        var orphan = await dead.TryAcquireAsync(client, Ct);
        using var running = await alive.TryAcquireAsync(client, Ct);
        Assert.True(orphan.IsAcquired);
        Assert.True(running.IsAcquired);
        // The replica dies: its timer stops and it never releases anything (the lease object is simply dropped).
        dead.Dispose();

        using var whileHeld = await alive.TryAcquireAsync(client, Ct);
        Assert.False(whileHeld.IsAcquired);

        // Two and a half lease times: the alive replica's lease was renewed several times, the orphan was not.
        await Task.Delay(leaseTime * 2.5, Ct);
        using var afterExpiry = await alive.TryAcquireAsync(client, Ct);
        using var overCap = await alive.TryAcquireAsync(client, Ct);
        Assert.True(afterExpiry.IsAcquired);
        Assert.False(overCap.IsAcquired);
    }

    [Fact]
    public async Task A_renewal_moves_a_held_lease_forward_and_never_adds_back_a_released_one()
    {
        var db = fixture.Redis.GetDatabase();
        var key = RedisClientGenerationLimiter.KeyOf(NewClient());

        Assert.Equal(1, (int)await db.ScriptEvaluateAsync(RedisClientGenerationLimiter.AcquireScript, [key], [5, 1000, "held"]));
        Assert.Equal(1, (int)await db.ScriptEvaluateAsync(RedisClientGenerationLimiter.AcquireScript, [key], [5, 1000, "released"]));
        var before = await db.SortedSetScoreAsync(key, "held");
        await db.SortedSetRemoveAsync(key, "released");
        await Task.Delay(50, Ct);

        Assert.Equal(1, (int)await db.ScriptEvaluateAsync(RedisClientGenerationLimiter.RenewScript, [key], [60_000, "held"]));
        Assert.Equal(0, (int)await db.ScriptEvaluateAsync(RedisClientGenerationLimiter.RenewScript, [key], [60_000, "released"]));

        Assert.Equal(["held"], (await db.SortedSetRangeByRankAsync(key)).Select(v => v.ToString()));
        Assert.True(await db.SortedSetScoreAsync(key, "held") >= before + 59_000);
        // The set lives as long as its longest lease, then goes by itself.
        Assert.True(await db.KeyTimeToLiveAsync(key) > TimeSpan.FromSeconds(59));
    }

    [Fact]
    public async Task The_request_rate_is_one_token_bucket_for_all_replicas_and_a_refusal_says_when_to_retry()
    {
        var limits = new ChatRateLimitOptions { BurstLimit = 3, RequestsPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromMinutes(10) };
        var client = NewClient();
        using var a = new RedisRequestRateLimiter(client, limits, fixture.Redis);
        using var b = new RedisRequestRateLimiter(client, limits, fixture.Redis);

        var granted = new List<bool>();
        for (var i = 0; i < 4; i++)
        {
            using var lease = await (i % 2 == 0 ? a : b).AcquireAsync(1, Ct);
            granted.Add(lease.IsAcquired);
            if (!lease.IsAcquired)
            {
                Assert.True(lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
                Assert.InRange(retryAfter, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
            }
        }

        Assert.Equal([true, true, true, false], granted);
        // The in-process answer is always "ask Redis" (the middleware then awaits AcquireAsync).
        Assert.False(a.AttemptAcquire().IsAcquired);
    }

    [Fact]
    public async Task Redis_down_is_the_stream_store_being_unavailable_for_both_limits()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(
            $"127.0.0.1:{Ports.Free()},abortConnect=false,connectTimeout=300,syncTimeout=500,asyncTimeout=500");
        using var generations = new RedisClientGenerationLimiter(
            redis, redis, Options.Create(new ChatRateLimitOptions()), NullLogger<RedisClientGenerationLimiter>.Instance);
        using var rate = new RedisRequestRateLimiter(NewClient(), new ChatRateLimitOptions(), redis);

        await Assert.ThrowsAsync<StreamStoreUnavailableException>(async () => await generations.TryAcquireAsync(NewClient(), Ct));
        await Assert.ThrowsAsync<StreamStoreUnavailableException>(async () => await rate.AcquireAsync(1, Ct));
    }
}
