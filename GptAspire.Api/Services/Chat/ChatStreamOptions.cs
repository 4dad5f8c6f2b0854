namespace GptAspire.Api.Services.Chat;

/// <summary>Settings of the chat stream, from the <c>Chat</c> configuration section.</summary>
public sealed class ChatStreamOptions
{
    public const string SectionName = "Chat";

    /// <summary>The longest wait for a connection to OpenAI before <c>upstream_connect_timeout</c>.</summary>
    public TimeSpan UpstreamConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections to OpenAI at most; more answers at once wait for one.</summary>
    public int MaxUpstreamConnections { get; set; } = 1000;

    /// <summary>Bodies larger than this are refused with 400 before they are read.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The cap on answer tokens when a request does not set <c>maxTokens</c>.</summary>
    public int DefaultMaxTokens { get; set; } = 4096;

    /// <summary>The largest <c>maxTokens</c> a request may ask for; more is a 400.</summary>
    public int MaxOutputTokens { get; set; } = 16_384;

    /// <summary>The longest conversation, in prompt tokens, the API sends upstream; longer is a 400.</summary>
    public int MaxPromptTokens { get; set; } = 32_000;

    /// <summary>A client that has not sent all request headers after this long gets 408.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The slowest a request body may arrive, in bytes per second after a 5-second grace period; a slower one
    /// gets 408 instead of holding a connection open.
    /// </summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 240;

    /// <summary>Record prompts and answers in gen_ai spans. Off by default: they are user data.</summary>
    public bool RecordMessageContent { get; set; }

    /// <summary>Overrides the model's context window (for models the catalog does not know).</summary>
    public int? ContextWindow { get; set; }

    /// <summary>Set by the AppHost when the local OpenAI emulator answers.</summary>
    public bool UsingEmulator { get; set; }
}
