extern alias api;

using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
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
        var body = Encoding.UTF8.GetBytes(UpstreamAnswer(Tokens));
        var http = new HttpClient(new InMemoryUpstream(body));
        var sdk = new OpenAI.Chat.ChatClient("gpt-4o-mini", new ApiKeyCredential("benchmark"), new OpenAI.OpenAIClientOptions
        {
            Endpoint = new Uri("http://upstream.invalid/v1"),
            Transport = new HttpClientPipelineTransport(http),
            RetryPolicy = new ClientRetryPolicy(0),
        });

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddOptions();
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
        var builder = new ChatClientBuilder(sdk.AsIChatClient());
        builder = StreamingTelemetry ? builder.UseStreamingTelemetry() : builder.UseOpenTelemetry();
        if (Compact)
        {
            builder.Use(inner => new CompactUpdatesChatClient(inner));
        }

        services.AddSingleton(builder.Build());
        _services = services.BuildServiceProvider();
        _service = _services.GetRequiredService<ChatStreamService>();
        _request = new ChatRequest([new ChatRequestMessage("user", "Hello there")], null, null);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark]
    public async Task<long> StreamOneAnswer()
    {
        var start = (ChatStart.Started)await _service.StartAsync(_request, "benchmark-client", principal: null, CancellationToken.None);
        var reader = start.Reader;
        var frames = new List<ReadOnlyMemory<byte>>();
        _sink.Position = 0;
        while (await reader.ReadAsync(frames) != ReadOutcome.End)
        {
            foreach (var frame in frames)
            {
                _sink.Write(frame.Span);
            }

            if (reader.Last is not null)
            {
                break;
            }

            frames.Clear();
        }

        reader.Dispose();
        return _sink.Position;
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
