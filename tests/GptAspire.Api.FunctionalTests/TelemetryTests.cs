using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>The gen_ai span records the conversation only when <c>Chat:RecordMessageContent</c> says so.</summary>
public class TelemetryTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    // Every span of Microsoft.Extensions.AI's source (under its experimental name or the plain one), as it ends.
    private static ActivityListener ListenToAiSpans(ConcurrentBag<Activity> spans)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.EndsWith("Microsoft.Extensions.AI", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Message_contents_reach_gen_ai_spans_only_when_the_setting_is_on()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = ListenToAiSpans(spans);

        var hidden = $"hidden-{Guid.NewGuid():n}";
        var recorded = $"recorded-{Guid.NewGuid():n}";
        var (_, hiddenEvents) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body($"{hidden} [emulator:delay=1]", maxTokens: 5), Timeout);
        var (_, recordedEvents) = await ChatStream.PostAsync(fixture.RecordingApi, ChatStream.Body($"{recorded} [emulator:delay=1]", maxTokens: 5), Timeout);

        static string Tags(IEnumerable<Activity> activities, string traceId) => string.Join("\n", activities
            .Where(a => a.TraceId.ToHexString() == traceId)
            .SelectMany(a => a.TagObjects.Select(t => $"{t.Key}={t.Value}")));
        var hiddenTags = Tags(spans, hiddenEvents[0].Data.GetProperty("traceId").GetString()!);
        var recordedTags = Tags(spans, recordedEvents[0].Data.GetProperty("traceId").GetString()!);

        Assert.Contains("gen_ai.request.model=gpt-4o-mini", hiddenTags);
        Assert.DoesNotContain(hidden, hiddenTags);
        Assert.Contains(recorded, recordedTags);

        // The answer on the span is the answer the reader got, once and whole.
        var chat = spans.Single(a => a.TraceId.ToHexString() == recordedEvents[0].Data.GetProperty("traceId").GetString() && a.GetTagItem("gen_ai.output.messages") is not null);
        using var output = JsonDocument.Parse((string)chat.GetTagItem("gen_ai.output.messages")!);
        var recordedAnswer = string.Concat(output.RootElement.EnumerateArray()
            .SelectMany(message => message.GetProperty("parts").EnumerateArray())
            .Where(part => part.GetProperty("type").GetString() == "text")
            .Select(part => part.GetProperty("content").GetString()));
        Assert.Equal(recordedEvents.Text(), recordedAnswer);
        Assert.True(recordedEvents.Count(e => e.Name == "token") > 1);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_tools_arguments_and_result_reach_its_execute_tool_span_only_when_the_setting_is_on()
    {
        var spans = new ConcurrentBag<Activity>();
        using var listener = ListenToAiSpans(spans);

        // An expression of its own per test run, so the tags found are this answer's.
        var expression = $"{Random.Shared.Next(1000, 9999)} * {Random.Shared.Next(1000, 9999)}";
        var (_, hiddenEvents) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body($"What is {expression}? [emulator:delay=1]"), Timeout);
        var (_, recordedEvents) = await ChatStream.PostAsync(fixture.RecordingApi, ChatStream.Body($"What is {expression}? [emulator:delay=1]"), Timeout);

        Activity ToolSpan(List<ReceivedEvent> events) => spans.Single(a =>
            a.TraceId.ToHexString() == events[0].Data.GetProperty("traceId").GetString() && a.DisplayName == "execute_tool calculate");
        var hidden = ToolSpan(hiddenEvents);
        var recorded = ToolSpan(recordedEvents);

        Assert.Equal("calculate", hidden.GetTagItem("gen_ai.tool.name"));
        Assert.Null(hidden.GetTagItem("gen_ai.tool.call.arguments"));
        Assert.Null(hidden.GetTagItem("gen_ai.tool.call.result"));
        Assert.Contains(expression, recorded.GetTagItem("gen_ai.tool.call.arguments") as string);
        Assert.Contains("value", recorded.GetTagItem("gen_ai.tool.call.result") as string);
    }
}
