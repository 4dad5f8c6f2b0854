extern alias api;

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using api::GptAspire.Api.Services.ClientLimits;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace GptAspire.MicroBenchmarks.Api;

/// <summary>
/// What the per-client limits cost a chat request: the request rate check (the <c>chat</c> policy's token bucket)
/// and a running-generation lease taken and given back, kept in memory (one replica) against kept in Redis (all
/// replicas: a redis-server on loopback, started here). The Redis figures are round trips over loopback; a network
/// hop to a managed Redis adds its own latency to each.
/// </summary>
[MemoryDiagnoser]
public class ClientLimitsBenchmarks
{
    private const string Client = "ip:198.51.100.1";

    private Process? _redisServer;
    private ConnectionMultiplexer? _redis;
    private RateLimiter _rate = null!;
    private IClientGenerationLimiter _generations = null!;

    [Params("memory", "redis")]
    public string Store { get; set; } = "memory";

    [GlobalSetup]
    public void Setup()
    {
        // Every request is let through: what is measured is the check, not the refusal.
        var limits = new ChatRateLimitOptions
        {
            BurstLimit = int.MaxValue / 2,
            RequestsPerPeriod = int.MaxValue / 2,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            ConcurrentGenerations = 1_000,
        };

        if (Store == "memory")
        {
            _rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = limits.BurstLimit,
                TokensPerPeriod = limits.RequestsPerPeriod,
                ReplenishmentPeriod = limits.ReplenishmentPeriod,
                QueueLimit = 0,
            });
            _generations = new InMemoryClientGenerationLimiter(Options.Create(limits));
            return;
        }

        var port = FreePort();
        _redisServer = Process.Start(new ProcessStartInfo("redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("redis-server did not start (apt-get install redis-server).");
        _ = _redisServer.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _redis = Connect(port);
        _rate = new RedisRequestRateLimiter(Client, limits, _redis);
        _generations = new RedisClientGenerationLimiter(_redis, _redis, Options.Create(limits), NullLogger<RedisClientGenerationLimiter>.Instance);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rate.Dispose();
        (_generations as IDisposable)?.Dispose();
        _redis?.Dispose();
        if (_redisServer is { HasExited: false })
        {
            _redisServer.Kill();
            _redisServer.WaitForExit();
        }
    }

    /// <summary>The <c>chat</c> policy's rate check of one request (the middleware's path: acquire, then dispose).</summary>
    [Benchmark]
    public async Task<bool> RateCheck()
    {
        using var lease = await _rate.AcquireAsync(1);
        return lease.IsAcquired;
    }

    /// <summary>A generation's slot: taken when it starts, given back when it ends.</summary>
    [Benchmark]
    public async Task<bool> GenerationLease()
    {
        using var lease = await _generations.TryAcquireAsync(Client, CancellationToken.None);
        return lease.IsAcquired;
    }

    private static ConnectionMultiplexer Connect(int port)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                return ConnectionMultiplexer.Connect($"127.0.0.1:{port}");
            }
            catch (RedisConnectionException) when (i < 50)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
