using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.ClientLimits;

/// <summary>
/// Caps the generations a client has running at once, wherever they run. A generation can outlive the request
/// that started it (the client left, or reads it again later), so the per-request concurrency limit of the
/// <c>chat</c> policy alone would let a client that leaves and posts again keep any number running upstream.
/// Acquire a lease when a generation starts and dispose it when the generation ends.
/// </summary>
public sealed class ClientGenerationLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public ClientGenerationLimiter(IOptions<ChatRateLimitOptions> options)
    {
        var limit = options.Value.ConcurrentGenerations;
        _limiter = PartitionedRateLimiter.Create<string, string>(client =>
            RateLimitPartition.GetConcurrencyLimiter(client, _ => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 }));
    }

    /// <summary>
    /// A lease for one more generation of <paramref name="clientKey"/> (see <see cref="ClientIdentity.PartitionKey"/>),
    /// or a lease with <see cref="RateLimitLease.IsAcquired"/> false when the client has its limit running.
    /// </summary>
    public RateLimitLease TryAcquire(string clientKey) => _limiter.AttemptAcquire(clientKey);

    public void Dispose() => _limiter.Dispose();
}
