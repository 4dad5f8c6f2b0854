using System.Text.Json.Serialization;
using System.ClientModel.Primitives;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Chat;
using GptAspire.Api.Services.Streams;
using GptAspire.Api.Services.Streams.Redis;
using GptAspire.Api.Services.Tools;
using GptAspire.Api.Services.Upstream;
using Microsoft.Extensions.AI;
using OpenAI;

namespace GptAspire.Api.Extensions;

public static class Extensions
{
    /// <summary>The name of the OpenAI connection string, and of the HttpClient that carries its calls.</summary>
    public const string OpenAIConnectionName = "openai";

    /// <summary>The name of the Redis connection string that shares streams between replicas (optional).</summary>
    public const string StreamsConnectionName = "streams";

    /// <summary>
    /// Registers the chat stream: settings, the model's token budget and limits, metrics and the OpenAI chat client.
    /// A missing or malformed <c>ConnectionStrings:openai</c> fails here, at start-up, naming the field.
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(ChatStreamOptions.SectionName);
        builder.Services.AddOptions<ChatStreamOptions>()
            .Bind(section)
            .Validate(o => o.UpstreamConnectTimeout > TimeSpan.Zero, "Chat:UpstreamConnectTimeout must be positive.")
            .Validate(o => o.MaxUpstreamConnections > 0, "Chat:MaxUpstreamConnections must be positive.")
            .Validate(o => o.MaxRequestBodyBytes > 0, "Chat:MaxRequestBodyBytes must be positive.")
            .Validate(o => o.ContextWindow is null or > 0, "Chat:ContextWindow must be positive when set.")
            .Validate(o => o.MaxOutputTokens > 0, "Chat:MaxOutputTokens must be positive.")
            .Validate(o => o.DefaultMaxTokens > 0 && o.DefaultMaxTokens <= o.MaxOutputTokens, "Chat:DefaultMaxTokens must be between 1 and Chat:MaxOutputTokens.")
            .Validate(o => o.MaxPromptTokens > 0, "Chat:MaxPromptTokens must be positive.")
            .Validate(o => o.RequestHeadersTimeout > TimeSpan.Zero, "Chat:RequestHeadersTimeout must be positive.")
            .Validate(o => o.MinRequestBodyBytesPerSecond > 0, "Chat:MinRequestBodyBytesPerSecond must be positive.")
            .ValidateOnStart();
        var settings = section.Get<ChatStreamOptions>() ?? new ChatStreamOptions();

        builder.Services.AddChatJsonOptions();

        var connection = OpenAIConnection.Parse(builder.Configuration.GetConnectionString(OpenAIConnectionName), OpenAIConnectionName);
        var model = new ChatModelInfo(
            connection.Model,
            settings.ContextWindow ?? ModelCatalog.ContextWindowFor(connection.Model),
            settings.UsingEmulator);

        builder.Services.AddSingleton(model);
        // The tokenizer takes hundreds of milliseconds to load: once, at start-up, not in a request.
        builder.Services.AddSingleton(PromptTokenCounter.ForModel(connection.Model));
        builder.Services.AddSingleton<ChatLimits>();
        builder.Services.AddSingleton<ChatMetrics>();
        builder.Services.AddSingleton<ChatStreamService>();
        // The store hands the answers this replica takes over to the chat service (resolved when needed: it needs the store).
        builder.Services.AddSingleton<IChatGenerationRunner>(services => services.GetRequiredService<ChatStreamService>());
        builder.AddChatStreamStore();
        var tools = builder.AddChatTools();

        builder.AddOpenAIChatClient(connection, settings.RecordMessageContent, tools);
        if (!settings.UsingEmulator)
        {
            builder.Services.AddSingleton(connection);
            // One instance, so that it keeps its client and its last healthy answer between checks.
            builder.Services.AddSingleton<OpenAIHealthCheck>();
            builder.Services.AddHealthChecks().AddCheck<OpenAIHealthCheck>(OpenAIHealthCheck.Name);
        }

        return builder;
    }

    /// <summary>
    /// The API's JSON options: the web defaults, numbers as JSON numbers only, and the stream's events serialized from
    /// source-generated metadata (<see cref="ChatJsonContext"/>).
    /// </summary>
    public static IServiceCollection AddChatJsonOptions(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(options =>
        {
            // The web defaults read "5" as 5: the API takes numbers as JSON numbers only, so that a string is a 400
            // naming the field and the OpenAPI document types maxTokens and temperature as numbers, not "integer | string".
            options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, ChatJsonContext.Default);
        });

    /// <summary>
    /// Registers the tools the model may call (<c>Chat:Tools</c>): the two built-in ones, and how they run. Add one of
    /// your own with <see cref="ChatToolsServiceCollectionExtensions.AddChatTool(IServiceCollection, AIFunction)"/>.
    /// </summary>
    public static ChatToolsOptions AddChatTools(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(ChatToolsOptions.SectionName);
        builder.Services.AddOptions<ChatToolsOptions>()
            .Bind(section)
            .Validate(o => o.MaxRounds is > 0 and <= 100, "Chat:Tools:MaxRounds must be between 1 and 100.")
            .Validate(o => o.Timeout > TimeSpan.Zero && o.Timeout <= TimeSpan.FromMinutes(10), "Chat:Tools:Timeout must be positive and at most 10 minutes.")
            .ValidateOnStart();

        builder.Services.AddSingleton<ChatTools>();
        builder.Services.AddSingleton<ToolRunner>();
        builder.Services.AddChatTool(services => BuiltInTools.CurrentTime(services.GetService<TimeProvider>() ?? TimeProvider.System));
        builder.Services.AddChatTool(BuiltInTools.Calculate());
        return section.Get<ChatToolsOptions>() ?? new ChatToolsOptions();
    }

    /// <summary>
    /// Registers where generations are kept for resuming: in memory, and when the app has a <c>streams</c>
    /// connection (Redis), shared with the other replicas through it. Also the clock that sends heartbeats and
    /// ends abandoned, stalled and too-long generations.
    /// </summary>
    public static IHostApplicationBuilder AddChatStreamStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatStreamsOptions>()
            .Bind(builder.Configuration.GetSection(ChatStreamsOptions.SectionName))
            .Validate(o => o.HeartbeatInterval > TimeSpan.Zero, "Chat:Streams:HeartbeatInterval must be positive.")
            .Validate(o => o.UpstreamIdleTimeout > TimeSpan.Zero, "Chat:Streams:UpstreamIdleTimeout must be positive.")
            .Validate(o => o.MaxAnswerDuration > TimeSpan.Zero, "Chat:Streams:MaxAnswerDuration must be positive.")
            .Validate(o => o.TakeoverAfter > TimeSpan.Zero, "Chat:Streams:TakeoverAfter must be positive.")
            .Validate(o => o.RetainFor > TimeSpan.Zero, "Chat:Streams:RetainFor must be positive.")
            .Validate(o => o.AbandonAfter > TimeSpan.Zero, "Chat:Streams:AbandonAfter must be positive.")
            .Validate(o => o.MaxLiveStreams > 0, "Chat:Streams:MaxLiveStreams must be positive.")
            .Validate(o => o.MaxRetainedStreams >= 0, "Chat:Streams:MaxRetainedStreams must not be negative.")
            .Validate(o => o.MaxEventsPerStream > 3, "Chat:Streams:MaxEventsPerStream must be more than 3.")
            .Validate(o => o.MaxBytesPerStream > 1024, "Chat:Streams:MaxBytesPerStream must be more than 1024.")
            .ValidateOnStart();

        builder.Services.AddSingleton<ChatStreamStore>();
        if (!string.IsNullOrEmpty(builder.Configuration.GetConnectionString(StreamsConnectionName)))
        {
            // Traced, with a health check: reads, stops, presence. The generation's per-event writes (an XADD and a
            // PUBLISH per token) go over a second, untraced connection: a span per token would bury the answer's trace.
            builder.AddRedisClient(StreamsConnectionName);
            builder.AddKeyedRedisClient(StreamsConnectionName, settings =>
            {
                settings.DisableTracing = true;
                settings.DisableHealthChecks = true;
            });
            builder.Services.AddSingleton<IChatStreamBackplane, RedisChatStreamBackplane>();
            builder.Services.AddExceptionHandler<StreamStoreUnavailableExceptionHandler>();
        }
        else
        {
            builder.Services.AddSingleton<IChatStreamBackplane, InMemoryChatStreamBackplane>();
        }

        builder.Services.AddHostedService<ChatStreamClock>();
        return builder;
    }

    /// <summary>
    /// Registers an <see cref="IChatClient"/> over the official OpenAI .NET SDK (for Azure OpenAI too, on its
    /// <c>/openai/v1</c> endpoint), with OpenTelemetry. Its HttpClient has no total timeout and no retries: an answer
    /// may stream for minutes, and a request whose first token was sent must never be sent again.
    /// </summary>
    public static IHostApplicationBuilder AddOpenAIChatClient(
        this IHostApplicationBuilder builder, OpenAIConnection connection, bool recordMessageContent, ChatToolsOptions tools)
    {
        // ServiceDefaults gives every HttpClient the standard resilience handler, whose 30 s total timeout
        // would cut long answers and whose retries would pay for an answer twice.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way out.
        builder.Services.AddHttpClient(OpenAIConnectionName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllResilienceHandlers()
            // An upstream that never accepts fails in seconds (upstream_connect_timeout), and a burst of answers
            // cannot open more connections to it than the cap (the rest wait their turn, under the idle timeout).
            .ConfigurePrimaryHttpMessageHandler(services =>
            {
                var chat = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ChatStreamOptions>>().Value;
                return new SocketsHttpHandler
                {
                    ConnectTimeout = chat.UpstreamConnectTimeout,
                    MaxConnectionsPerServer = chat.MaxUpstreamConnections,
                    PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                };
            });
#pragma warning restore EXTEXP0001

        var pipeline = builder.Services.AddChatClient(services =>
            {
                var transport = new HttpClientPipelineTransport(
                    services.GetRequiredService<IHttpClientFactory>().CreateClient(OpenAIConnectionName));
                return CreateChatClient(connection, transport).AsIChatClient();
            });
        if (tools.Enabled)
        {
            // Outermost: each round is its own gen_ai span, and the library's execute_tool spans sit between them.
            pipeline.Use((inner, services) => new ToolInvokingChatClient(
                inner, services.GetRequiredService<ToolRunner>(), services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ChatToolsOptions>>(),
                services.GetService<ILoggerFactory>()));
        }

        pipeline.UseStreamingTelemetry(recordMessageContent);
        if (recordMessageContent)
        {
            // Microsoft.Extensions.AI's OpenTelemetry client then keeps every update of an answer to describe it.
            pipeline.Use(inner => new CompactUpdatesChatClient(inner));
        }

        // Inside the OpenTelemetry client, so that the gen_ai span's error status never carries the upstream body.
        pipeline.Use(inner => new RedactingChatClient(inner));

        return builder;
    }

    private static OpenAI.Chat.ChatClient CreateChatClient(OpenAIConnection connection, PipelineTransport transport) =>
        // The API's own idle timeout (Chat:Streams:UpstreamIdleTimeout) watches the stream; the SDK must not retry.
        connection.CreateClient(new OpenAIClientOptions
        {
            Transport = transport,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        }).GetChatClient(connection.TargetName);
}
