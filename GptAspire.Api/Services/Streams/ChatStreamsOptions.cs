namespace GptAspire.Api.Services.Streams;

/// <summary>
/// Every clock of a stream's life, and the limits of stored streams, from the <c>Chat:Streams</c> configuration
/// section: how long it may wait, run, go unread and be kept, and how fast another replica takes it over.
/// </summary>
public sealed class ChatStreamsOptions
{
    public const string SectionName = "Chat:Streams";

    /// <summary>
    /// A <c>: ping</c> comment is sent after this much silence, so that proxies (Azure Container Apps
    /// closes idle connections after 240 s) and browsers keep the stream open.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The longest wait for the first token, or between two tokens, before <c>upstream_timeout</c>.</summary>
    public TimeSpan UpstreamIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest an answer may stream before it ends with <c>error</c> <c>answer_too_long</c>.</summary>
    public TimeSpan MaxAnswerDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a finished stream stays readable with <c>GET /api/chat/stream/{requestId}</c>.</summary>
    public TimeSpan RetainFor { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A generation with no reader for this long is cancelled upstream (a closed tab stops paying).</summary>
    public TimeSpan AbandonAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// With several replicas: a replica that has not renewed its lease for this long is taken for dead, and another
    /// replica with a reader of one of its answers continues that answer. Renewed three times per period.
    /// </summary>
    public TimeSpan TakeoverAfter { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Generations running at once on one API process; more get 503 with <c>Retry-After</c>.</summary>
    public int MaxLiveStreams { get; set; } = 2000;

    /// <summary>Finished streams kept for resuming on one API process; the oldest go first past this.</summary>
    public int MaxRetainedStreams { get; set; } = 10_000;

    /// <summary>Events one stream may hold; a longer answer ends with <c>error</c> <c>stream_too_large</c>.</summary>
    public int MaxEventsPerStream { get; set; } = 20_000;

    /// <summary>Bytes of SSE frames one stream may hold; a larger answer ends with <c>error</c> <c>stream_too_large</c>.</summary>
    public long MaxBytesPerStream { get; set; } = 2 * 1024 * 1024;

    /// <summary>The <c>Retry-After</c> of the 503 when the API is full.</summary>
    public TimeSpan RetryAfterWhenFull { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the keys of a stream live in the shared store while it runs: it cannot run longer.</summary>
    public TimeSpan LiveKeyLifetime => MaxAnswerDuration + RetainFor + TakeoverAfter;
}
