extern alias api;

using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using api::GptAspire.Api.Models;
using api::GptAspire.Api.Services.Chat;
using api::GptAspire.Api.Services.ClientLimits;
using api::GptAspire.Api.Services.Streams;
using api::GptAspire.Api.Services.Tools;
using api::GptAspire.Api.Services.Upstream;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GptAspire.MicroBenchmarks.Api;

/// <summary>
/// What an open answer keeps in memory, by chat client pipeline: many answers are held open at once through the OpenAI
/// SDK against an in-memory upstream that sends chunks only when told, first idle (nothing sent yet), then after
/// <see cref="Tokens"/> tokens each, then to the end. The heap after a full collection, divided by the answers open
/// (and by the tokens streamed), is what each keeps; the bytes allocated while streaming, per token, what each costs
/// the collector. Tracing and metrics are listened to, as in the API with an exporter. BenchmarkDotNet measures
/// allocation per call, not what outlives it, hence a probe of its own:
/// <c>dotnet run -c Release --project bench/GptAspire.MicroBenchmarks -- --retention</c>.
/// </summary>
public static class StreamRetentionProbe
{
    private const int Streams = 200;
    private const int Tokens = 200;
    private const string Head = "{\"id\":\"chatcmpl-0123456789abcdefghijklmnopqrs\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_0123456789\",";
    private static readonly string[] Words = [" Server", "-S", "ent", " Events", " keep", " one", " HTTP", " response", " open"];

    private static readonly (string Name, Func<IChatClient, IChatClient> Build)[] Pipelines =
    [
        ("SDK only (no telemetry)", sdk => new RedactingChatClient(sdk)),
        ("M.E.AI OpenTelemetry, no compaction", sdk => new ChatClientBuilder(sdk).UseOpenTelemetry().Use(i => new RedactingChatClient(i)).Build()),
        ("M.E.AI OpenTelemetry + compaction (before)", sdk => new ChatClientBuilder(sdk).UseOpenTelemetry().Use(i => new CompactUpdatesChatClient(i)).Use(i => new RedactingChatClient(i)).Build()),
        ("StreamingTelemetry + compaction (after)", sdk => new ChatClientBuilder(sdk).UseStreamingTelemetry().Use(i => new CompactUpdatesChatClient(i)).Use(i => new RedactingChatClient(i)).Build()),
        ("StreamingTelemetry, no compaction", sdk => new ChatClientBuilder(sdk).UseStreamingTelemetry().Use(i => new RedactingChatClient(i)).Build()),
        ("before + FunctionInvokingChatClient", sdk => new ChatClientBuilder(sdk).UseFunctionInvocation().UseOpenTelemetry().Use(i => new CompactUpdatesChatClient(i)).Use(i => new RedactingChatClient(i)).Build()),
        ("after + FunctionInvokingChatClient", sdk => new ChatClientBuilder(sdk).UseFunctionInvocation().UseStreamingTelemetry().Use(i => new CompactUpdatesChatClient(i)).Use(i => new RedactingChatClient(i)).Build()),
        ("after, no compaction + FunctionInvokingChatClient", sdk => new ChatClientBuilder(sdk).UseFunctionInvocation().UseStreamingTelemetry().Use(i => new RedactingChatClient(i)).Build()),
        ("after + ToolInvokingChatClient (round text folded)", sdk => new ChatClientBuilder(sdk).Use(i => ShippedToolClient(i)).UseStreamingTelemetry().Use(i => new CompactUpdatesChatClient(i)).Use(i => new RedactingChatClient(i)).Build()),
        ("after, no compaction + ToolInvokingChatClient (round text folded)", sdk => new ChatClientBuilder(sdk).Use(i => ShippedToolClient(i)).UseStreamingTelemetry().Use(i => new RedactingChatClient(i)).Build()),
    ];

    private static ToolInvokingChatClient ShippedToolClient(IChatClient inner)
    {
        var options = Options.Create(new ChatToolsOptions());
        return new ToolInvokingChatClient(inner, new ToolRunner(options, NullLogger<ToolRunner>.Instance), options, null);
    }

    public static async Task RunAsync()
    {
        using var tracing = new ActivityListener
        {
            ShouldListenTo = source => source.Name.Contains("Microsoft.Extensions.AI", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(tracing);
        using var metrics = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name.Contains("Microsoft.Extensions.AI", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        metrics.SetMeasurementEventCallback<int>((_, _, _, _) => { });
        metrics.SetMeasurementEventCallback<double>((_, _, _, _) => { });
        metrics.Start();

        Console.WriteLine($"{Streams} answers open at once, {Tokens} tokens each, through the OpenAI SDK from memory.");
        Console.WriteLine();
        Console.WriteLine("| pipeline | KiB kept per idle open answer | bytes kept per token streamed | bytes allocated per token |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (name, build) in Pipelines)
        {
            // Once to warm up (JIT, static caches), then measured.
            await MeasureAsync(build);
            var (idle, keptPerToken, allocatedPerToken) = await MeasureAsync(build);
            Console.WriteLine($"| {name} | {idle / 1024.0:F1} | {keptPerToken:F0} | {allocatedPerToken:F0} |");
        }

        Console.WriteLine();
        Console.WriteLine($"The API's chat service ({Streams} answers started, each with its reader, upstream silent), without Kestrel:");
        Console.WriteLine();
        Console.WriteLine("| pipeline | KiB kept per idle open answer |");
        Console.WriteLine("|---|---:|");
        foreach (var (name, build) in Pipelines.Where(p => p.Name.EndsWith("(before)", StringComparison.Ordinal) || p.Name.EndsWith("(after)", StringComparison.Ordinal)))
        {
            await MeasureServiceIdleAsync(build);
            await MeasureServiceIdleAsync(build);
            Console.WriteLine($"| {name} | {await MeasureServiceIdleAsync(build) / 1024.0:F1} |");
        }
    }

    // Through ChatStreamService as a request starts an answer: the stream store, its buffer and the generation's loop
    // (its start event written) on top of the pipeline; what Kestrel keeps per open response is not in it.
    private static async Task<double> MeasureServiceIdleAsync(Func<IChatClient, IChatClient> build)
    {
        var upstream = new HeldUpstream();
        var sdk = new OpenAI.Chat.ChatClient("gpt-4o-mini", new ApiKeyCredential("probe"), new OpenAI.OpenAIClientOptions
        {
            Endpoint = new Uri("http://upstream.invalid/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(upstream)),
            RetryPolicy = new ClientRetryPolicy(0),
        }).AsIChatClient();

        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddOptions();
        services.AddSingleton(new ChatModelInfo("gpt-4o-mini", 128_000, UsingEmulator: true));
        services.AddSingleton(PromptTokenCounter.ForModel("gpt-4o-mini"));
        services.AddSingleton<ChatLimits>();
        services.Configure<ChatRateLimitOptions>(limits => limits.ConcurrentGenerations = 100_000);
        services.Configure<ChatStreamsOptions>(streams => streams.MaxLiveStreams = 100_000);
        services.AddSingleton<IClientGenerationLimiter, InMemoryClientGenerationLimiter>();
        services.AddSingleton<ChatMetrics>();
        services.AddSingleton<IChatStreamBackplane, InMemoryChatStreamBackplane>();
        services.AddSingleton<ChatStreamStore>();
        // Text answers: the tools' rounds are not the per-token path (the function-invoking client is measured apart).
        services.Configure<ChatToolsOptions>(tools => tools.Enabled = false);
        services.AddSingleton<ChatTools>();
        services.AddSingleton<ToolRunner>();
        services.AddSingleton<ChatStreamService>();
        services.AddSingleton(build(sdk));
        await using var provider = services.BuildServiceProvider();
        var service = provider.GetRequiredService<ChatStreamService>();
        var request = new ChatRequest([new ChatRequestMessage("user", "Hello there")], null, null);

        var empty = Heap();
        var readers = new List<ChatStreamReader>();
        var frames = new List<ReadOnlyMemory<byte>>();
        for (var i = 0; i < Streams; i++)
        {
            var start = (ChatStart.Started)await service.StartAsync(request, $"probe-{i}", principal: null, CancellationToken.None);
            frames.Clear();
            await start.Reader.ReadAsync(frames);
            readers.Add(start.Reader);
        }

        await upstream.AllStartedAsync(Streams);
        var idle = Heap();

        foreach (var pipe in upstream.Pipes)
        {
            await pipe.Writer.CompleteAsync();
        }

        foreach (var reader in readers)
        {
            reader.Dispose();
        }

        // The next measurement's empty heap must not hold these generations' ends.
        var store = provider.GetRequiredService<ChatStreamStore>();
        while (store.LiveCount > 0)
        {
            await Task.Delay(10);
        }

        return (idle - empty) / (double)Streams;
    }

    private static async Task<(double IdleBytes, double KeptPerToken, double AllocatedPerToken)> MeasureAsync(Func<IChatClient, IChatClient> build)
    {
        var upstream = new HeldUpstream();
        var sdk = new OpenAI.Chat.ChatClient("gpt-4o-mini", new ApiKeyCredential("probe"), new OpenAI.OpenAIClientOptions
        {
            Endpoint = new Uri("http://upstream.invalid/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(upstream)),
            RetryPolicy = new ClientRetryPolicy(0),
        }).AsIChatClient();
        using var client = build(sdk);
        var options = new ChatOptions { MaxOutputTokens = 4096, Temperature = 0.7f };

        var empty = Heap();
        var answers = new IAsyncEnumerator<ChatResponseUpdate>[Streams];
        var pending = new Task<bool>[Streams];
        for (var i = 0; i < Streams; i++)
        {
            answers[i] = client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hello there")], options).GetAsyncEnumerator();
            pending[i] = answers[i].MoveNextAsync().AsTask();
        }

        await upstream.AllStartedAsync(Streams);
        var idle = Heap();

        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var role = Chunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", "null");
        for (var i = 0; i < Streams; i++)
        {
            await upstream.Pipes[i].Writer.WriteAsync(role);
        }

        for (var t = 0; t < Tokens; t++)
        {
            var token = Chunk($"{{\"content\":\"{Words[t % Words.Length]}\"}}", "null");
            for (var i = 0; i < Streams; i++)
            {
                await upstream.Pipes[i].Writer.WriteAsync(token);
            }

            // Each answer reads its chunks as they come, one update at a time, as the API does.
            for (var i = 0; i < Streams; i++)
            {
                while (await pending[i] && answers[i].Current.Text.Length == 0)
                {
                    pending[i] = answers[i].MoveNextAsync().AsTask();
                }

                pending[i] = answers[i].MoveNextAsync().AsTask();
            }
        }

        var allocatedPerToken = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)(Streams * Tokens);
        var streamed = Heap();

        var end = Encoding.UTF8.GetBytes(
            $"data: {Head}\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":null}}\n\n" +
            $"data: {Head}\"choices\":[],\"usage\":{{\"prompt_tokens\":9,\"completion_tokens\":{Tokens},\"total_tokens\":{Tokens + 9}}}}}\n\ndata: [DONE]\n\n");
        for (var i = 0; i < Streams; i++)
        {
            await upstream.Pipes[i].Writer.WriteAsync(end);
            await upstream.Pipes[i].Writer.CompleteAsync();
            while (await pending[i])
            {
                pending[i] = answers[i].MoveNextAsync().AsTask();
            }

            await answers[i].DisposeAsync();
        }

        GC.KeepAlive(answers);
        return ((idle - empty) / (double)Streams, (streamed - idle) / (double)(Streams * Tokens), allocatedPerToken);
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static byte[] Chunk(string delta, string finishReason) => Encoding.UTF8.GetBytes(
        $"data: {Head}\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finishReason}}}],\"usage\":null}}\n\n");

    // Each request gets a response at once whose body is a pipe: chunks arrive when the probe writes them.
    private sealed class HeldUpstream : HttpMessageHandler
    {
        private readonly Lock _lock = new();
        private int _started;

        public List<Pipe> Pipes { get; } = [];

        public async Task AllStartedAsync(int count)
        {
            while (Volatile.Read(ref _started) < count)
            {
                await Task.Delay(10);
            }
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
            lock (_lock)
            {
                Pipes.Add(pipe);
            }

            Interlocked.Increment(ref _started);
            var content = new StreamContent(pipe.Reader.AsStream());
            content.Headers.ContentType = new("text/event-stream");
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request });
        }
    }
}
