namespace GptAspire.Api.Services.ClientLimits;

/// <summary>
/// Per-client limits of the chat endpoints, from the <c>Chat:RateLimits</c> configuration section. A client is
/// the signed-in user, else its IP address (see <see cref="ClientIdentity"/>).
/// </summary>
public sealed class ChatRateLimitOptions
{
    public const string SectionName = "Chat:RateLimits";

    /// <summary>The most requests a client may make in a burst (the size of its token bucket).</summary>
    public int BurstLimit { get; set; } = 30;

    /// <summary>Requests added back to a client's bucket every <see cref="ReplenishmentPeriod"/>.</summary>
    public int RequestsPerPeriod { get; set; } = 20;

    /// <summary>How often <see cref="RequestsPerPeriod"/> requests are added back.</summary>
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The most chat streams a client may have open at once (posted or resumed).</summary>
    public int ConcurrentStreams { get; set; } = 5;

    /// <summary>
    /// The most generations a client may have running upstream at once, read or not (see
    /// <see cref="IClientGenerationLimiter"/>).
    /// </summary>
    public int ConcurrentGenerations { get; set; } = 5;

    /// <summary>
    /// With several replicas (Redis): how long a running generation's slot outlives a replica that died without
    /// ending it. Each replica renews its leases every third of this (see <see cref="RedisClientGenerationLimiter"/>).
    /// </summary>
    public TimeSpan GenerationLeaseTime { get; set; } = TimeSpan.FromSeconds(15);
}
