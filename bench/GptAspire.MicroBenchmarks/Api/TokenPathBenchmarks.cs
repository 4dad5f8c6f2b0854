extern alias api;

using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using api::GptAspire.Api.Extensions;
using api::GptAspire.Api.Models;
using api::GptAspire.Api.Services.Chat;
using api::GptAspire.Api.Services.ClientLimits;
using api::GptAspire.Api.Services.Streams;
using api::GptAspire.Api.Services.Tools;
using api::GptAspire.Api.Services.Upstream;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GptAspire.MicroBenchmarks.Api;

/// <summary>
/// The API's whole per-token path, upstream chunk to SSE bytes, without the network: an answer of
/// <see cref="Tokens"/> OpenAI chunks served from memory goes through the OpenAI SDK, Microsoft.Extensions.AI and an
/// OpenTelemetry client, the frame writer, the stream store and a reader that copies the frames out, as the
/// response would. Divide by <see cref="Tokens"/> for the cost of one token.
/// </summary>
[MemoryDiagnoser]
public class TokenPathBenchmarks
{
    private ChatStreamService _service = null!;
    private ServiceProvider _services = null!;
    private ChatRequest _request = null!;
    private readonly MemoryStream _sink = new();

    [Params(200)]
    public int Tokens { get; set; }

    /// <summary>Whether streamed updates let go of their raw SDK objects (<see cref="CompactUpdatesChatClient"/>).</summary>
    [Params(false, true)]
    public bool Compact { get; set; }

    /// <summary>
    /// Whether the gen_ai span comes from <see cref="StreamingTelemetryChatClient"/> (as the API ships) or from
    /// Microsoft.Extensions.AI's OpenTelemetry client, which keeps every update until the answer ends.
    /// </summary>
    [Params(false, true)]
    public bool StreamingTelemetry { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var builder = new ChatClientBuilder(SdkClient(Tokens).AsIChatClient());
        builder = StreamingTelemetry ? builder.UseStreamingTelemetry() : builder.UseOpenTelemetry();
        if (Compact)
        {
            builder.Use(inner => new CompactUpdatesChatClient(inner));
        }

        _services = Services(builder.Build());
        _service = _services.GetRequiredService<ChatStreamService>();
        _request = new ChatRequest([new ChatRequestMessage("user", "Hello there")], null, null);
    }

    /// <summary>The OpenAI SDK's chat client over an upstream that answers every request with <see cref="UpstreamAnswer"/>.</summary>
    internal static OpenAI.Chat.ChatClient SdkClient(int tokens) =>
        new("gpt-4o-mini", new ApiKeyCredential("benchmark"), new OpenAI.OpenAIClientOptions
        {
            Endpoint = UpstreamEndpoint,
            Transport = new HttpClientPipelineTransport(UpstreamHttp(tokens)),
            RetryPolicy = new ClientRetryPolicy(0),
        });

    internal static Uri UpstreamEndpoint { get; } = new("http://upstream.invalid/v1");

    internal static HttpClient UpstreamHttp(int tokens) => new(new InMemoryUpstream(Encoding.UTF8.GetBytes(UpstreamAnswer(tokens))));

    /// <summary>The API's chat service and what it needs, over <paramref name="chatClient"/>, tools off.</summary>
    internal static ServiceProvider Services(IChatClient chatClient)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddOptions();
        services.AddChatJsonOptions();
        services.AddSingleton(new ChatModelInfo("gpt-4o-mini", 128_000, UsingEmulator: true));
        services.AddSingleton(PromptTokenCounter.ForModel("gpt-4o-mini"));
        services.AddSingleton<ChatLimits>();
        // One benchmark client starts answer after answer: its cap on running generations is not measured here.
        services.Configure<ChatRateLimitOptions>(limits => limits.ConcurrentGenerations = 1_000);
        services.AddSingleton<IClientGenerationLimiter, InMemoryClientGenerationLimiter>();
        services.AddSingleton<ChatMetrics>();
        services.AddSingleton<IChatStreamBackplane, InMemoryChatStreamBackplane>();
        services.AddSingleton<ChatStreamStore>();
        // Text answers: the tools' rounds are not the per-token path (the function-invoking client is measured apart).
        services.Configure<ChatToolsOptions>(tools => tools.Enabled = false);
        services.AddSingleton<ChatTools>();
        services.AddSingleton<ToolRunner>();
        services.AddSingleton<ChatStreamService>();
        services.AddSingleton(chatClient);
        return services.BuildServiceProvider();
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark]
    public Task<long> StreamOneAnswer() => StreamOneAnswer(_service, _request, _sink);

    /// <summary>Starts one answer and copies its frames out as the response would, to the last.</summary>
    internal static async Task<long> StreamOneAnswer(ChatStreamService service, ChatRequest request, MemoryStream sink)
    {
        var start = (ChatStart.Started)await service.StartAsync(request, "benchmark-client", principal: null, CancellationToken.None);
        var reader = start.Reader;
        var frames = new List<ReadOnlyMemory<byte>>();
        sink.Position = 0;
        while (await reader.ReadAsync(frames) != ReadOutcome.End)
        {
            foreach (var frame in frames)
            {
                sink.Write(frame.Span);
            }

            if (reader.Last is not null)
            {
                break;
            }

            frames.Clear();
        }

        reader.Dispose();
        return sink.Position;
    }

    // What OpenAI sends for a streamed answer: a role chunk, one chunk per token, the finish chunk, the usage chunk, [DONE].
    private static string UpstreamAnswer(int tokens)
    {
        const string head = "{\"id\":\"chatcmpl-0123456789abcdefghijklmnopqrs\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0123456789\",";
        var words = new[] { " Server", "-S", "ent", " Events", " keep", " one", " HTTP", " response", " open" };
        var sse = new StringBuilder();
        sse.Append("data: ").Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n");
        for (var i = 0; i < tokens; i++)
        {
            sse.Append("data: ").Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{\"content\":\"").Append(words[i % words.Length]).Append("\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n");
        }

        sse.Append("data: ").Append(head).Append("\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":null}\n\n");
        sse.Append("data: ").Append(head).Append("\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":").Append(tokens).Append(",\"total_tokens\":").Append(tokens + 9).Append("}}\n\n");
        sse.Append("data: [DONE]\n\n");
        return sse.ToString();
    }

    private sealed class InMemoryUpstream(byte[] body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("text/event-stream");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request });
        }
    }
}
