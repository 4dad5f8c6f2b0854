using System.Threading.RateLimiting;

namespace GptAspire.Api.Services.ClientLimits;

/// <summary>
/// Caps the generations a client has running at once, wherever they run. A generation can outlive the request
/// that started it (the client left, or reads it again later), so the per-request concurrency limit of the
/// <c>chat</c> policy alone would let a client that leaves and posts again keep any number running upstream.
/// Acquire a lease when a generation starts and dispose it when the generation ends.
/// </summary>
/// <remarks>
/// In memory (<see cref="InMemoryClientGenerationLimiter"/>) the cap holds per replica; with the shared Redis
/// (<see cref="RedisClientGenerationLimiter"/>) it holds across all replicas.
/// </remarks>
public interface IClientGenerationLimiter
{
    /// <summary>
    /// A lease for one more generation of <paramref name="clientKey"/> (see <see cref="ClientIdentity.PartitionKey"/>),
    /// or a lease with <see cref="RateLimitLease.IsAcquired"/> false when the client has its limit running.
    /// </summary>
    ValueTask<RateLimitLease> TryAcquireAsync(string clientKey, CancellationToken cancellationToken);
}
