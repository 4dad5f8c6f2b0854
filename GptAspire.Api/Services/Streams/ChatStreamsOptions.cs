namespace GptAspire.Api.Services.Streams;

/// <summary>Settings of stored, resumable streams, from the <c>Chat:Streams</c> configuration section.</summary>
public sealed class ChatStreamsOptions
{
    public const string SectionName = "Chat:Streams";

    /// <summary>How long a finished stream stays readable with <c>GET /api/chat/stream/{requestId}</c>.</summary>
    public TimeSpan RetainFor { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A generation with no reader for this long is cancelled upstream (a closed tab stops paying).</summary>
    public TimeSpan AbandonAfter { get; set; } = TimeSpan.FromSeconds(30);

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
}
