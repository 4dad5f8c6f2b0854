using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.ClientLimits;

/// <summary>The running-generations cap of a single replica: a concurrency limiter per client, in this process.</summary>
public sealed class InMemoryClientGenerationLimiter : IClientGenerationLimiter, IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public InMemoryClientGenerationLimiter(IOptions<ChatRateLimitOptions> options)
    {
        var limit = options.Value.ConcurrentGenerations;
        _limiter = PartitionedRateLimiter.Create<string, string>(client =>
            RateLimitPartition.GetConcurrencyLimiter(client, _ => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 }));
    }

    public ValueTask<RateLimitLease> TryAcquireAsync(string clientKey, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_limiter.AttemptAcquire(clientKey));

    public void Dispose() => _limiter.Dispose();
}
