using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests;

public class ChatStreamTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_question_streams_start_tokens_usage_and_finish_in_order()
    {
        var (response, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Hello there"), Timeout);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("start", events[0].Name);
        Assert.Equal(["usage", "finish"], events[^2..].Select(e => e.Name));
        Assert.All(events[1..^2], e => Assert.Equal("token", e.Name));
        Assert.True(events.Count(e => e.Name == "token") > 20);
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));

        var start = events[0].Data;
        Assert.Equal("gpt-4o-mini", start.GetProperty("model").GetString());
        Assert.Equal(128_000, start.GetProperty("contextWindow").GetInt32());
        Assert.Equal(128_000 - start.GetProperty("promptTokens").GetInt32(), start.GetProperty("remainingTokens").GetInt32());
        Assert.Matches("^[0-9a-f]{32}$", start.GetProperty("traceId").GetString());

        var usage = events[^2].Data;
        Assert.Equal(start.GetProperty("promptTokens").GetInt32(), usage.GetProperty("promptTokens").GetInt32());
        Assert.Equal(usage.GetProperty("promptTokens").GetInt32() + usage.GetProperty("completionTokens").GetInt32(),
            usage.GetProperty("totalTokens").GetInt32());
        Assert.Equal("stop", events[^1].Data.GetProperty("reason").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_streamed_text_is_the_whole_answer_the_model_gave()
    {
        var (_, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("What is Aspire?"), Timeout);

        using var direct = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = "What is Aspire?" } } }),
        };
        direct.Headers.Authorization = new("Bearer", ApiFixture.Key);
        using var answer = await fixture.Emulator.SendAsync(direct, Timeout);
        var json = await answer.Content.ReadFromJsonAsync<JsonElement>(Timeout);

        Assert.Equal(json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), events.Text());
        Assert.Equal(json.GetProperty("usage").GetProperty("completion_tokens").GetInt32(),
            events.Single(e => e.Name == "usage").Data.GetProperty("completionTokens").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Tokens_arrive_one_by_one_as_they_are_generated()
    {
        var (_, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Tell me more [emulator:delay=40]"), Timeout);

        var tokens = events.Where(e => e.Name == "token").ToList();
        // ~40 ms between tokens upstream: if the API buffered, every token would arrive at the same moment.
        Assert.True(tokens[^1].At - tokens[0].At > TimeSpan.FromMilliseconds(20 * tokens.Count),
            $"{tokens.Count} tokens arrived within {(tokens[^1].At - tokens[0].At).TotalMilliseconds} ms");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_wire_format_has_named_events_ids_json_data_and_no_caching()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Hi", maxTokens: 3)) };
        // As a browser asks: a compressed stream would be held back by the compressor until its buffer fills.
        request.Headers.AcceptEncoding.ParseAdd("gzip, deflate, br, zstd");
        using var response = await fixture.Api.SendAsync(request, Timeout);
        var raw = await response.Content.ReadAsStringAsync(Timeout);

        Assert.Contains("no-cache", response.Headers.CacheControl!.ToString());
        Assert.Contains("no-transform", response.Headers.CacheControl!.ToString());
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Null(response.Content.Headers.ContentEncoding.FirstOrDefault(e => e != "identity"));
        Assert.StartsWith("event: start\ndata: {\"requestId\":\"", raw);
        Assert.Matches("event: token\ndata: \\{\"text\":\".*\"\\}\nid: 1\n\n", raw);
        Assert.EndsWith("event: finish\ndata: {\"reason\":\"length\"}\nid: 5\n\n", raw);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task MaxTokens_cuts_the_answer_with_finish_length()
    {
        var (_, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Explain streaming", maxTokens: 7), Timeout);

        Assert.Equal("length", events[^1].Data.GetProperty("reason").GetString());
        Assert.Equal(7, events.Single(e => e.Name == "usage").Data.GetProperty("completionTokens").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_Azure_OpenAI_connection_streams_the_same_answer()
    {
        var (_, openAI) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Azure please"), Timeout);
        var (_, azure) = await ChatStream.PostAsync(fixture.AzureApi, ChatStream.Body("Azure please"), Timeout);
        var (_, azureCut) = await ChatStream.PostAsync(fixture.AzureApi, ChatStream.Body("Azure please", maxTokens: 5), Timeout);

        Assert.Equal(openAI.Text(), azure.Text());
        Assert.Equal("stop", azure[^1].Data.GetProperty("reason").GetString());
        Assert.Equal("length", azureCut[^1].Data.GetProperty("reason").GetString());
        Assert.Equal(5, azureCut.Single(e => e.Name == "usage").Data.GetProperty("completionTokens").GetInt32());
        var requests = await fixture.Emulator.GetFromJsonAsync<JsonElement>("/_emulator/requests", Timeout);
        Assert.Contains(requests.EnumerateArray(), r => r.GetProperty("route").GetString() == "azure-v1");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_heartbeat_comment_keeps_a_silent_stream_open()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream")
        {
            // The first token comes after 1.5 s; the test API beats its heart every second.
            Content = JsonContent.Create(ChatStream.Body("Wait for it [emulator:slow-first-token=1500]", maxTokens: 2)),
        };
        using var response = await fixture.Api.SendAsync(request, Timeout);
        var raw = await response.Content.ReadAsStringAsync(Timeout);

        var ping = raw.IndexOf("\n\n: ping\n\n", StringComparison.Ordinal);
        Assert.True(ping > 0, raw);
        Assert.True(ping < raw.IndexOf("event: token", StringComparison.Ordinal));
        Assert.EndsWith("{\"reason\":\"length\"}\nid: 4\n\n", raw);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Info_names_the_model_and_its_context_window()
    {
        var info = await fixture.Api.GetFromJsonAsync<JsonElement>("/api/info", Timeout);

        Assert.Equal("gpt-4o-mini", info.GetProperty("model").GetString());
        Assert.Equal(128_000, info.GetProperty("contextWindow").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task In_Development_the_OpenAPI_document_describes_the_stream_endpoint()
    {
        await using var development = new ApiFixture.ApiFactory(
            $"Endpoint={new Uri(fixture.EmulatorAddress, "v1")};Key={ApiFixture.Key};Model=gpt-4o-mini", environment: "Development");
        using var client = new HttpClient { BaseAddress = development.Start() };

        var document = await client.GetStringAsync("/openapi/v1.json", Timeout);
        using var scalar = await client.GetAsync("/scalar", Timeout);

        Assert.Contains("/api/chat/stream", document);
        Assert.Contains("text/event-stream", document);
        Assert.Equal(HttpStatusCode.OK, scalar.StatusCode);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("/openapi/v1.json")]
    [InlineData("/scalar")]
    public async Task Outside_Development_the_API_does_not_describe_itself(string path)
    {
        using var response = await fixture.Api.GetAsync(path, Timeout);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_trace_id_of_start_is_the_one_sent_to_OpenAI()
    {
        var (_, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Trace me please"), Timeout);
        var traceId = events[0].Data.GetProperty("traceId").GetString()!;

        var requests = await fixture.Emulator.GetFromJsonAsync<JsonElement>("/_emulator/requests", Timeout);
        Assert.Contains(requests.EnumerateArray(), r =>
            r.GetProperty("traceparent").GetString() is { } parent && parent.Split('-')[1] == traceId);
    }
}
