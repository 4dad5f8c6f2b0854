using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.AI.OpenAI;
using Azure.Identity;
using GptAspire.Api.Services;
using Microsoft.Extensions.AI;
using OpenAI;

namespace GptAspire.Api.Extensions;

public static class Extensions
{
    /// <summary>The name of the OpenAI connection string, and of the HttpClient that carries its calls.</summary>
    public const string OpenAIConnectionName = "openai";

    /// <summary>
    /// Registers the chat stream: settings, the model's token budget and limits, metrics and the OpenAI chat client.
    /// A missing or malformed <c>ConnectionStrings:openai</c> fails here, at start-up, naming the field.
    /// </summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(ChatStreamOptions.SectionName);
        builder.Services.AddOptions<ChatStreamOptions>()
            .Bind(section)
            .Validate(o => o.HeartbeatInterval > TimeSpan.Zero, "Chat:HeartbeatInterval must be positive.")
            .Validate(o => o.UpstreamIdleTimeout > TimeSpan.Zero, "Chat:UpstreamIdleTimeout must be positive.")
            .Validate(o => o.MaxRequestBodyBytes > 0, "Chat:MaxRequestBodyBytes must be positive.")
            .Validate(o => o.ContextWindow is null or > 0, "Chat:ContextWindow must be positive when set.")
            .Validate(o => o.MaxOutputTokens > 0, "Chat:MaxOutputTokens must be positive.")
            .Validate(o => o.DefaultMaxTokens > 0 && o.DefaultMaxTokens <= o.MaxOutputTokens, "Chat:DefaultMaxTokens must be between 1 and Chat:MaxOutputTokens.")
            .Validate(o => o.MaxPromptTokens > 0, "Chat:MaxPromptTokens must be positive.")
            .Validate(o => o.RequestHeadersTimeout > TimeSpan.Zero, "Chat:RequestHeadersTimeout must be positive.")
            .Validate(o => o.MinRequestBodyBytesPerSecond > 0, "Chat:MinRequestBodyBytesPerSecond must be positive.")
            .ValidateOnStart();
        var settings = section.Get<ChatStreamOptions>() ?? new ChatStreamOptions();

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

        builder.AddOpenAIChatClient(connection, settings.RecordMessageContent);
        return builder;
    }

    /// <summary>
    /// Registers an <see cref="IChatClient"/> over the official OpenAI .NET SDK (or Azure.AI.OpenAI for an
    /// Azure deployment), with OpenTelemetry. Its HttpClient has no total timeout and no retries: an answer
    /// may stream for minutes, and a request whose first token was sent must never be sent again.
    /// </summary>
    public static IHostApplicationBuilder AddOpenAIChatClient(this IHostApplicationBuilder builder, OpenAIConnection connection, bool recordMessageContent)
    {
        // ServiceDefaults gives every HttpClient the standard resilience handler, whose 30 s total timeout
        // would cut long answers and whose retries would pay for an answer twice.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental; it is the documented way out.
        builder.Services.AddHttpClient(OpenAIConnectionName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        builder.Services.AddChatClient(services =>
            {
                var transport = new HttpClientPipelineTransport(
                    services.GetRequiredService<IHttpClientFactory>().CreateClient(OpenAIConnectionName));
                return CreateChatClient(connection, transport).AsIChatClient();
            })
            .UseOpenTelemetry(configure: telemetry => telemetry.EnableSensitiveData = recordMessageContent);

        return builder;
    }

    private static OpenAI.Chat.ChatClient CreateChatClient(OpenAIConnection connection, PipelineTransport transport)
    {
        // The API's own idle timeout (Chat:UpstreamIdleTimeout) watches the stream; the SDK must not retry.
        var noRetries = new ClientRetryPolicy(maxRetries: 0);

        if (connection.IsAzure)
        {
            var options = new AzureOpenAIClientOptions { Transport = transport, RetryPolicy = noRetries, NetworkTimeout = Timeout.InfiniteTimeSpan };
            var client = connection.Key is { } key
                ? new AzureOpenAIClient(connection.Endpoint, new ApiKeyCredential(key), options)
                : new AzureOpenAIClient(connection.Endpoint, new DefaultAzureCredential(), options);
            return client.GetChatClient(connection.Deployment);
        }

        var openAIOptions = new OpenAIClientOptions
        {
            Endpoint = connection.Endpoint,
            Transport = transport,
            RetryPolicy = noRetries,
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        return new OpenAI.Chat.ChatClient(connection.Model, new ApiKeyCredential(connection.Key!), openAIOptions);
    }
}
