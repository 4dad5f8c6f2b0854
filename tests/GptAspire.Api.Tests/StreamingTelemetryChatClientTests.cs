using System.ClientModel;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using GptAspire.Api.Services.Upstream;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Tests;

/// <summary>
/// The streamed answer's span and metrics are Microsoft.Extensions.AI's: the same answer through both clients gives the
/// same span name, kind, attributes and status, and the same measurements, while this one keeps no update.
/// </summary>
public class StreamingTelemetryChatClientTests
{
    private static readonly ChatOptions Options = new()
    {
        MaxOutputTokens = 500,
        Temperature = 0.7f,
        Seed = 42,
        StopSequences = ["END"],
        Tools = [AIFunctionFactory.Create((string city) => "12:00", "get_current_time", "The time in a city."), new HostedWebSearchTool()],
    };

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_streamed_answer_gets_the_span_and_metrics_of_Microsoft_Extensions_AI()
    {
        var theirs = await ObserveAsync(inner => new OpenTelemetryChatClient(inner, sourceName: StreamingTelemetryChatClient.SourceName), new ScriptedAnswer());
        var ours = await ObserveAsync(inner => new StreamingTelemetryChatClient(inner), new ScriptedAnswer());

        Assert.Equal("chat gpt-4o-mini", ours.Span.DisplayName);
        Assert.Equal(ActivityKind.Client, ours.Span.Kind);
        Assert.Equal(theirs.Span.DisplayName, ours.Span.DisplayName);
        Assert.Equal(theirs.Span.Kind, ours.Span.Kind);
        Assert.Equal(theirs.Span.Status, ours.Span.Status);
        Assert.Equal(Tags(theirs.Span), Tags(ours.Span));
        Assert.Contains("gen_ai.response.finish_reasons=[\"stop\"]", Tags(ours.Span));
        Assert.Contains("gen_ai.usage.output_tokens=4", Tags(ours.Span));
        Assert.Contains("server.address=api.example.test", Tags(ours.Span));
        Assert.Contains(Tags(ours.Span), tag => tag.StartsWith("gen_ai.tool.definitions=", StringComparison.Ordinal) && tag.Contains("get_current_time", StringComparison.Ordinal));
        Assert.Equal(theirs.Metrics, ours.Metrics);
        Assert.Contains(ours.Metrics, m => m.StartsWith("gen_ai.client.token.usage ", StringComparison.Ordinal));
        Assert.Contains(ours.Metrics, m => m.StartsWith("gen_ai.client.operation.duration ", StringComparison.Ordinal));
        Assert.Contains(ours.Metrics, m => m.StartsWith("gen_ai.client.operation.time_per_output_chunk ", StringComparison.Ordinal));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_failed_answer_gets_the_error_type_and_status_of_Microsoft_Extensions_AI()
    {
        var theirs = await ObserveAsync(inner => new OpenTelemetryChatClient(inner, sourceName: StreamingTelemetryChatClient.SourceName), new ScriptedAnswer(failAfter: 2));
        var ours = await ObserveAsync(inner => new StreamingTelemetryChatClient(inner), new ScriptedAnswer(failAfter: 2));

        Assert.Equal(ActivityStatusCode.Error, ours.Span.Status);
        Assert.Equal(theirs.Span.StatusDescription, ours.Span.StatusDescription);
        Assert.Equal(Tags(theirs.Span), Tags(ours.Span));
        Assert.Contains("error.type=System.ClientModel.ClientResultException", Tags(ours.Span));
        Assert.Equal(theirs.Metrics, ours.Metrics);
        Assert.Contains(ours.Metrics, m => m.Contains("error.type=System.ClientModel.ClientResultException", StringComparison.Ordinal));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_update_is_not_kept_once_the_reader_has_moved_past_it()
    {
        using var spans = Listen(_ => { });
        using var client = new StreamingTelemetryChatClient(new ScriptedAnswer());
        var updates = client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")], Options, TestContext.Current.CancellationToken)
            .GetAsyncEnumerator(TestContext.Current.CancellationToken);

        var first = await TakeFirstAsync(updates);
        Assert.True(await updates.MoveNextAsync());
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var keptMidAnswer = first.IsAlive;
        while (await updates.MoveNextAsync())
        {
        }

        await updates.DisposeAsync();
        Assert.False(keptMidAnswer);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Message_contents_are_recorded_when_the_setting_is_on()
    {
        var recorded = await ObserveAsync(inner => new StreamingTelemetryChatClient(inner, enableSensitiveData: true), new ScriptedAnswer());

        var tags = string.Join("\n", Tags(recorded.Span));
        Assert.Contains("Hello, world!", tags);
        Assert.Contains("secret question", tags);
    }

    // A weak reference to the first update, taken in a frame of its own so that no local keeps it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> TakeFirstAsync(IAsyncEnumerator<ChatResponseUpdate> updates)
    {
        Assert.True(await updates.MoveNextAsync());
        return new WeakReference(updates.Current);
    }

    private static async Task<(Activity Span, List<string> Metrics)> ObserveAsync(Func<IChatClient, IChatClient> telemetry, ScriptedAnswer answer)
    {
        var spans = new List<Activity>();
        var metrics = new List<string>();
        using (Listen(spans.Add))
        using (var meters = new MeterListener())
        {
            meters.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == StreamingTelemetryChatClient.SourceName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            meters.SetMeasurementEventCallback<int>((instrument, value, tags, _) => metrics.Add($"{instrument.Name} {instrument.Unit} {value} {Describe(tags)}"));
            // Durations differ from run to run: only their instrument and tags are compared.
            meters.SetMeasurementEventCallback<double>((instrument, _, tags, _) => metrics.Add($"{instrument.Name} {instrument.Unit} {Describe(tags)}"));
            meters.Start();

            using var client = telemetry(answer);
            try
            {
                await foreach (var _ in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "secret question")], Options, TestContext.Current.CancellationToken))
                {
                }
            }
            catch (ClientResultException)
            {
            }
        }

        return (Assert.Single(spans), metrics);
    }

    private static ActivityListener Listen(Action<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == StreamingTelemetryChatClient.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    // Every attribute but the time to first chunk, which differs from run to run (its presence is compared).
    private static List<string> Tags(Activity span) =>
    [
        .. span.TagObjects
            .Select(t => t.Key == "gen_ai.response.time_to_first_chunk" ? t.Key : $"{t.Key}={t.Value}")
            .Order(StringComparer.Ordinal),
    ];

    private static string Describe(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var pairs = new List<string>();
        foreach (var tag in tags)
        {
            pairs.Add($"{tag.Key}={tag.Value}");
        }

        pairs.Sort(StringComparer.Ordinal);
        return string.Join(",", pairs);
    }

    // As the OpenAI SDK's client streams an answer: a role chunk, tokens, the finish chunk, the usage chunk.
    private sealed class ScriptedAnswer(int? failAfter = null) : IChatClient
    {
        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            yield return Chunk(new TextContent(""));
            var sent = 0;
            foreach (var text in new[] { "Hello", ",", " world", "!" })
            {
                if (sent++ == failAfter)
                {
                    throw new ClientResultException("HTTP 500 from the AI service (upstream request unknown).");
                }

                await Task.Yield();
                yield return Chunk(new TextContent(text));
            }

            var finish = Chunk();
            finish.FinishReason = ChatFinishReason.Stop;
            yield return finish;
            yield return Chunk(new UsageContent(new UsageDetails { InputTokenCount = 8, OutputTokenCount = 4, TotalTokenCount = 12 }));
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(ChatClientMetadata)
                ? new ChatClientMetadata("openai", new Uri("https://api.example.test:8443/v1"), "gpt-4o-mini")
                : null;

        public void Dispose()
        {
        }

        private static ChatResponseUpdate Chunk(params AIContent[] contents) => new(ChatRole.Assistant, [.. contents])
        {
            ResponseId = "chatcmpl-1",
            MessageId = "chatcmpl-1",
            ModelId = "gpt-4o-mini-2024-07-18",
        };
    }
}
