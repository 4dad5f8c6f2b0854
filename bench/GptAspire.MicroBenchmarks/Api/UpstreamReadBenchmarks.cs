extern alias api;

using BenchmarkDotNet.Attributes;
using api::GptAspire.Api.Models;
using api::GptAspire.Api.Services.Chat;
using api::GptAspire.Api.Services.Upstream;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace GptAspire.MicroBenchmarks.Api;

/// <summary>
/// The OpenAI SDK with Microsoft.Extensions.AI's adapter against a direct read of the upstream's SSE bytes
/// (<see cref="DirectSseChatClient"/>), on the same answer from memory as <see cref="TokenPathBenchmarks"/>: the
/// upstream client alone (every update read), and the API's whole per-token path over each, with the pipeline as
/// the API ships it for text answers (streaming telemetry, compact updates, redaction). Divide by
/// <see cref="Tokens"/> for one token.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class UpstreamReadBenchmarks
{
    private static readonly ChatMessage[] Messages = [new(ChatRole.User, "Hello there")];

    private IChatClient _upstream = null!;
    private ServiceProvider _services = null!;
    private ChatStreamService _service = null!;
    private ChatRequest _request = null!;
    private readonly MemoryStream _sink = new();

    [Params(200)]
    public int Tokens { get; set; }

    [Params(false, true)]
    public bool Direct { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _upstream = Upstream();
        // Both clients must read the same answer, or the comparison means nothing.
        var read = Summary(_upstream);
        var sdk = Summary(TokenPathBenchmarks.SdkClient(Tokens).AsIChatClient());
        if (read != sdk)
        {
            throw new InvalidOperationException($"The clients read different answers:\n{read}\n{sdk}");
        }

        var pipeline = new ChatClientBuilder(Upstream())
            .UseStreamingTelemetry()
            .Use(inner => new CompactUpdatesChatClient(inner))
            .Use(inner => new RedactingChatClient(inner))
            .Build();
        _services = TokenPathBenchmarks.Services(pipeline);
        _service = _services.GetRequiredService<ChatStreamService>();
        _request = new ChatRequest([new ChatRequestMessage("user", "Hello there")], null, null);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _upstream.Dispose();
        _services.Dispose();
    }

    [Benchmark]
    public async Task<int> UpstreamClient()
    {
        var length = 0;
        await foreach (var update in _upstream.GetStreamingResponseAsync(Messages))
        {
            length += update.Text.Length;
        }

        return length;
    }

    [Benchmark]
    public Task<long> TokenPath() => TokenPathBenchmarks.StreamOneAnswer(_service, _request, _sink);

    private static string Summary(IChatClient client)
    {
        var response = client.GetStreamingResponseAsync(Messages).ToChatResponseAsync().GetAwaiter().GetResult();
        return $"{response.Text}|{response.FinishReason}|{response.Usage?.InputTokenCount}/{response.Usage?.OutputTokenCount}/{response.Usage?.TotalTokenCount}|{response.ResponseId}|{response.ModelId}|{response.CreatedAt}|{response.Messages.Count}";
    }

    private IChatClient Upstream() => Direct
        ? new DirectSseChatClient(TokenPathBenchmarks.UpstreamHttp(Tokens), TokenPathBenchmarks.UpstreamEndpoint, "benchmark", "gpt-4o-mini")
        : TokenPathBenchmarks.SdkClient(Tokens).AsIChatClient();
}
