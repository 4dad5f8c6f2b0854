using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// Many streams at once, a fifth of them failing upstream in every way the emulator can fail: the healthy ones
/// are untouched by the others' failures, and each failed one ends with its one right error.
/// </summary>
public sealed class FaultMixTests(ApiFixture fixture)
{
    private const int Streams = 200;
    private const int MaxTokens = 24;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    // What a faulty stream asks for and the error it must end with. Every fifth stream gets the next one in turn.
    private static readonly (string Directive, string Code)[] Faults =
    [
        ("[emulator:rate-limit=4]", "rate_limited"),
        ("[emulator:server-error]", "upstream_error"),
        ("[emulator:drop]", "upstream_unavailable"),
        ("[emulator:bad-chunk]", "upstream_error"),
        ("[emulator:content-filter-prompt]", "content_filtered"),
        // The API gives up on a silent upstream after 8 s here.
        ("[emulator:slow-first-token=30000]", "upstream_timeout"),
    ];

    private static readonly string[] Questions =
    [
        "What is DNS?", "Explain TCP slow start", "Write a haiku about rain", "How do I sort a list in C#?",
        "What is a monad?", "Summarize the French revolution", "Why is the sky blue?", "What is Server-Sent Events?",
    ];

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Two_hundred_concurrent_streams_with_a_fifth_failing_lose_duplicate_and_reorder_nothing()
    {
        await using var api = new ObservedApi(fixture, settings: new Dictionary<string, string> { ["Chat:Streams:UpstreamIdleTimeout"] = "00:00:08" });
        var expected = await ExpectedRepliesAsync();

        // One answer first, so that the mix measures streams, not the first call's start-up.
        var (_, warmUp) = await ChatStream.PostAsync(api.Client, ChatStream.Body("Warm up [emulator:delay=1]", 2), Timeout);
        Assert.Equal("finish", warmUp[^1].Name);
        await Eventually.FindAsync(() => api.Measurements.FirstOrDefault(m => m.Instrument == "gptaspire.chat.streams"), "the warm-up's outcome", cancellationToken: Timeout);

        var clock = Stopwatch.StartNew();
        var plans = Enumerable.Range(0, Streams).Select(i => (
            Question: Questions[i % Questions.Length],
            Fault: i % 5 == 4 ? Faults[(i / 5) % Faults.Length] : default((string Directive, string Code)?))).ToArray();
        var results = await Task.WhenAll(plans.Select(async plan =>
        {
            var question = plan.Fault is { } fault ? $"{plan.Question} {fault.Directive} [emulator:delay=10]" : $"{plan.Question} [emulator:delay=10]";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body(question, MaxTokens)) };
            using var response = await api.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout);
            return (plan.Question, plan.Fault, Status: (int)response.StatusCode, Events: await ChatStream.ReadAsync(response, Timeout));
        }));
        var elapsed = clock.Elapsed;

        var checkedEvents = 0;
        foreach (var (question, fault, status, events) in results)
        {
            var what = $"'{question}' {fault?.Directive}: HTTP {status}, {string.Join(" ", events.Select(e => $"{e.Id}:{e.Name}"))}";
            Assert.True(status == 200, what);
            Assert.True(events.Count >= 2, what);
            // Ids 0..n-1 in order, start first, exactly one terminal event and it is the last.
            Assert.True(events.Select(e => e.Id).SequenceEqual(Enumerable.Range(0, events.Count).Select(i => i.ToString())), what);
            Assert.True(events[0].Name == "start", what);
            Assert.True(events.Count(e => e.Name is "finish" or "error") == 1 && events[^1].Name is "finish" or "error", what);
            Assert.True(events.Skip(1).SkipLast(1).All(e => e.Name is "token" or "usage"), what);

            if (fault is { } f)
            {
                Assert.True(events[^1].Name == "error" && events[^1].Data.GetProperty("code").GetString() == f.Code, $"expected {f.Code}; {what}: {events[^1].RawData}");
                // What arrived before the failure is the start of the same deterministic reply.
                Assert.StartsWith(events.Text(), expected[question]);
            }
            else
            {
                Assert.True(events[^1].Name == "finish", $"{what}: {events[^1].RawData}");
                Assert.Equal(expected[question], events.Text());
                Assert.Equal(events.Count(e => e.Name == "token"), events[^2].Data.GetProperty("completionTokens").GetInt32(), 1.0);
            }

            checkedEvents += events.Count;
        }

        // Every stream ended once, with the outcome its client saw: the error's code as error.type, or the finish reason.
        var outcomes = await Eventually.FindAsync(
            () => api.Measurements.Count(m => m.Instrument == "gptaspire.chat.streams") >= Streams + 1 ? api.Measurements.Where(m => m.Instrument == "gptaspire.chat.streams").Skip(1).ToList() : null,
            "an outcome for every stream", cancellationToken: Timeout);
        Assert.Equal(Streams, outcomes.Count);
        Assert.Equal(
            results.GroupBy(r => r.Events[^1].Name == "error" ? r.Events[^1].Data.GetProperty("code").GetString()! : r.Events[^1].Data.GetProperty("reason").GetString()!).ToDictionary(g => g.Key, g => g.Count()),
            outcomes.GroupBy(Outcome).ToDictionary(g => g.Key, g => g.Count()));

        var faults = results.Count(r => r.Fault is not null);
        TestContext.Current.SendDiagnosticMessage(
            $"Fault mix: {Streams} concurrent streams, {faults} faults injected ({string.Join(", ", Faults.Select(f => f.Code).Distinct())}), " +
            $"{checkedEvents} events checked, events lost: 0, duplicated: 0, out of order: 0, in {elapsed.TotalSeconds:F1} s");
    }

    // A stream's ending as counted: error.type when it failed (and then no finish reason), else its one finish reason.
    private static string Outcome(ObservedApi.Measurement m)
    {
        if (m.Tags.GetValueOrDefault("error.type") is { } errorType)
        {
            Assert.DoesNotContain("gen_ai.response.finish_reasons", m.Tags.Keys);
            return errorType;
        }

        return Assert.Single(JsonSerializer.Deserialize<string[]>(m.Tags["gen_ai.response.finish_reasons"]!)!);
    }

    // The emulator's reply to each question, asked directly and without streaming, cut to the same token limit.
    private async Task<Dictionary<string, string>> ExpectedRepliesAsync()
    {
        var replies = new Dictionary<string, string>();
        foreach (var question in Questions)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { model = "gpt-4o-mini", max_tokens = MaxTokens, messages = new[] { new { role = "user", content = question } } }),
            };
            request.Headers.Authorization = new("Bearer", ApiFixture.Key);
            using var response = await fixture.Emulator.SendAsync(request, Timeout);
            response.EnsureSuccessStatusCode();
            var completion = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
            replies[question] = completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        }

        return replies;
    }
}
