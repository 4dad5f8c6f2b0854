using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.AppHost.Tests;

/// <summary>A chat streamed through the real AppHost: emulator as <c>openai</c>, the API, and the web proxy.</summary>
public class StreamingTests(AppHostFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("api")]
    [InlineData("web")]
    public async Task A_chat_streams_start_tokens_usage_finish_over_time(string resource)
    {
        using var client = fixture.Client(resource);
        var (response, events) = await ChatStream.PostAsync(client, ChatStream.Body("How do named events help? [emulator:delay=30]"), Timeout);

        Assert.True(response.IsSuccessStatusCode, fixture.ResourceLogs());
        Assert.Equal("start", events[0].Name);
        Assert.Equal(["usage", "finish"], events[^2..].Select(e => e.Name));
        Assert.All(events[1..^2], e => Assert.Equal("token", e.Name));
        Assert.Equal("stop", events[^1].Data.GetProperty("reason").GetString());

        // The first token reached the client long before the emulator produced the last one (~30 ms a token).
        var tokens = events.Where(e => e.Name == "token").ToList();
        Assert.True(tokens[^1].At - tokens[0].At > TimeSpan.FromMilliseconds(15 * tokens.Count),
            $"{tokens.Count} tokens within {(tokens[^1].At - tokens[0].At).TotalMilliseconds} ms");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_web_proxy_and_the_api_stream_the_same_events()
    {
        using var api = fixture.Client("api");
        using var web = fixture.Client("web");

        var (_, direct) = await ChatStream.PostAsync(api, ChatStream.Body("Same answer both ways?"), Timeout);
        var (_, proxied) = await ChatStream.PostAsync(web, ChatStream.Body("Same answer both ways?"), Timeout);

        Assert.Equal(direct.Select(e => e.Name), proxied.Select(e => e.Name));
        Assert.Equal(direct.Text(), proxied.Text());
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("[emulator:rate-limit=3]", "error", "rate_limited")]
    [InlineData("[emulator:content-filter-prompt]", "error", "content_filtered")]
    [InlineData("[emulator:content-filter]", "finish", "content_filter")]
    [InlineData("[emulator:server-error]", "error", "upstream_error")]
    [InlineData("[emulator:drop]", "error", "upstream_unavailable")]
    [InlineData("[emulator:slow-first-token=1500]", "finish", "stop")]
    [InlineData("[emulator:long] [emulator:delay=1]", "finish", "stop")]
    public async Task Each_emulator_scenario_ends_with_its_event(string directive, string lastEvent, string value)
    {
        using var client = fixture.Client("web");
        var (_, events) = await ChatStream.PostAsync(client, ChatStream.Body($"Scenario {directive}"), Timeout);

        Assert.Equal("start", events[0].Name);
        Assert.Equal(lastEvent, events[^1].Name);
        Assert.Equal(value, events[^1].Data.GetProperty(lastEvent == "error" ? "code" : "reason").GetString());
        Assert.Single(events, e => e.Name is "finish" or "error");
        if (directive.Contains("rate-limit"))
        {
            Assert.Equal(3, events[^1].Data.GetProperty("retryAfterSeconds").GetInt32());
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_stream_longer_than_the_resilience_timeout_gets_every_token()
    {
        // About 45 s: past the standard resilience handler's 30 s total timeout and HttpClient's defaults.
        const string question = "Give me the long version [emulator:long] [emulator:delay=30]";
        using var client = fixture.Client("api");
        var (_, events) = await ChatStream.PostAsync(client, ChatStream.Body(question), Timeout);

        using var emulator = fixture.Client("openai");
        var reference = await NonStreamingAnswer(emulator, await fixture.EmulatorKeyAsync(), question);
        Assert.Equal("finish", events[^1].Name);
        Assert.True(events[^1].At > TimeSpan.FromSeconds(35), $"streamed for {events[^1].At}");
        Assert.Equal(reference, events.Text());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Leaving_the_stream_for_good_cancels_the_upstream_request_after_the_grace_time()
    {
        using var web = fixture.Client("web");
        using var emulator = fixture.Client("openai");

        var traceId = await ChatStream.OpenAndLeaveAsync(web, ChatStream.Body("Leave early [emulator:long] [emulator:delay=50]"), Timeout);

        var recorded = await EmulatorRequests.WaitForTraceAsync(
            emulator, traceId, r => r.GetProperty("cancelled").GetBoolean(), TimeSpan.FromSeconds(15), Timeout);
        Assert.False(recorded.GetProperty("completed").GetBoolean());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Info_says_the_emulator_answers()
    {
        using var client = fixture.Client("web");
        var info = await client.GetFromJsonAsync<JsonElement>("/api/info", Timeout);

        Assert.True(info.GetProperty("usingEmulator").GetBoolean());
        Assert.Equal("gpt-4o-mini", info.GetProperty("model").GetString());
    }

    internal static async Task<string> NonStreamingAnswer(HttpClient emulator, string key, string question)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = question } } }),
        };
        request.Headers.Add("api-key", key);
        using var response = await emulator.SendAsync(request, Timeout);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        return json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }
}
