using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>Each failure of the OpenAI call ends the stream with the right named event, never a broken stream.</summary>
public class ScenarioTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private async Task<List<ReceivedEvent>> Stream(string question)
    {
        var (response, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body(question), Timeout);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("start", events[0].Name);
        Assert.Single(events, e => e.Name is "finish" or "error");
        return events;
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Rate_limit_is_an_error_event_with_the_retry_delay()
    {
        var events = await Stream("Hi [emulator:rate-limit=7]");

        Assert.Equal("error", events[^1].Name);
        Assert.Equal("rate_limited", events[^1].Data.GetProperty("code").GetString());
        Assert.Equal(7, events[^1].Data.GetProperty("retryAfterSeconds").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Rate_limit_is_not_retried_by_the_API()
    {
        var question = $"Once {Guid.NewGuid()} [emulator:rate-limit-once]";
        var first = await Stream(question);
        var second = await Stream(question);

        // The SDK's own retry would have turned the first 429 into an answer.
        Assert.Equal("rate_limited", first[^1].Data.GetProperty("code").GetString());
        Assert.Equal("finish", second[^1].Name);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_filtered_prompt_is_content_filtered()
    {
        var events = await Stream("Bad words [emulator:content-filter-prompt]");

        Assert.Equal("content_filtered", events[^1].Data.GetProperty("code").GetString());
        Assert.DoesNotContain(events, e => e.Name == "token");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_filtered_answer_keeps_its_tokens_and_finishes_with_content_filter()
    {
        var events = await Stream("Tell me [emulator:content-filter]");

        Assert.Contains(events, e => e.Name == "token");
        Assert.Equal(["usage", "finish"], events[^2..].Select(e => e.Name));
        Assert.Equal("content_filter", events[^1].Data.GetProperty("reason").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_server_error_is_upstream_error()
    {
        var events = await Stream("Hi [emulator:server-error]");
        Assert.Equal("upstream_error", events[^1].Data.GetProperty("code").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_dropped_connection_keeps_the_tokens_and_ends_with_upstream_unavailable()
    {
        var events = await Stream("Hi [emulator:drop]");

        Assert.Contains(events, e => e.Name == "token");
        Assert.Equal("error", events[^1].Name);
        Assert.Equal("upstream_unavailable", events[^1].Data.GetProperty("code").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_model_that_stays_silent_is_upstream_timeout()
    {
        // The test API waits 5 s for a token.
        var events = await Stream("Hi [emulator:slow-first-token=9000]");
        Assert.Equal("upstream_timeout", events[^1].Data.GetProperty("code").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task When_the_caller_leaves_for_good_the_upstream_call_is_cancelled_after_the_grace_time()
    {
        var traceId = await ChatStream.OpenAndLeaveAsync(fixture.Api, ChatStream.Body("Leave early [emulator:long] [emulator:delay=50]"), Timeout);
        var left = System.Diagnostics.Stopwatch.StartNew();

        // The test API abandons a generation after 2 s without a reader; not at once, so that a client can come back.
        var recorded = await EmulatorRequests.WaitForTraceAsync(
            fixture.Emulator, traceId, r => r.GetProperty("cancelled").GetBoolean(), TimeSpan.FromSeconds(10), Timeout);
        Assert.InRange(left.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10));
        Assert.False(recorded.GetProperty("completed").GetBoolean());
        Assert.True(recorded.GetProperty("completionTokens").GetInt32() < 1000);
    }
}
