using System.Diagnostics;
using System.Text.Json;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

public sealed class ScenarioTests(EmulatorFixture emulator)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task RateLimitAnswers429WithRetryAfterAndOpenAIsBody()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:rate-limit]", stream: true), Cancellation);

        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        Assert.Equal("0", response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal("2s", response.Headers.GetValues("x-ratelimit-reset-requests").Single());
        Assert.True(response.Headers.Contains("x-ratelimit-limit-tokens"));
        var error = (await Chat.JsonAsync(response)).GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("requests", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.StartsWith("Rate limit reached for gpt-4o-mini", error.GetProperty("message").GetString());
        Assert.Contains("Please try again in 2s.", error.GetProperty("message").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task RateLimitTakesTheRetryAfterSeconds()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:rate-limit=7]"), Cancellation);

        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        Assert.Contains("Please try again in 7s.", (await Chat.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task RateLimitOnceRefusesAConversationTheFirstTimeOnly()
    {
        using var client = emulator.CreateHttpClient();
        var prompt = $"conversation {Guid.NewGuid()} [emulator:rate-limit-once]";

        using var first = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt), Cancellation);
        using var retry = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt), Cancellation);

        Assert.Equal(429, (int)first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), first.Headers.RetryAfter?.Delta);
        Assert.Equal(200, (int)retry.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task RateLimitOnceCountsAQuestionOnceNotEachRoundOfToolCallsAnsweringIt()
    {
        using var client = emulator.CreateHttpClient();
        var question = new { role = "user", content = $"What is 6*7? {Guid.NewGuid():N} [emulator:rate-limit-once]" };
        var tools = new[] { new { type = "function", function = new { name = "calculate", parameters = new { type = "object", properties = new { expression = new { type = "string" } } } } } };
        using var first = await Chat.SendAsync(client, Chat.OpenAIPath, System.Text.Json.JsonSerializer.SerializeToNode(new { model = "gpt-4o-mini", messages = new object[] { question }, tools })!, Cancellation);
        using var retry = await Chat.SendAsync(client, Chat.OpenAIPath, System.Text.Json.JsonSerializer.SerializeToNode(new { model = "gpt-4o-mini", messages = new object[] { question }, tools })!, Cancellation);

        // The round that reads the tool's result is a longer conversation, but not a new question.
        var call = new { id = "call_1", type = "function", function = new { name = "calculate", arguments = """{"expression":"6*7"}""" } };
        using var round = await Chat.SendAsync(client, Chat.OpenAIPath, System.Text.Json.JsonSerializer.SerializeToNode(new
        {
            model = "gpt-4o-mini",
            messages = new object[]
            {
                question,
                new { role = "assistant", content = (string?)null, tool_calls = new[] { call } },
                new { role = "tool", tool_call_id = "call_1", content = """{"value":42}""" },
            },
            tools,
        })!, Cancellation);

        Assert.Equal(429, (int)first.StatusCode);
        Assert.Equal(200, (int)retry.StatusCode);
        Assert.Equal(200, (int)round.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task RateLimitOnceTakesTheRetryAfterSeconds()
    {
        using var client = emulator.CreateHttpClient();
        using var first = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body($"conversation {Guid.NewGuid()} [emulator:rate-limit-once=5]"), Cancellation);

        Assert.Equal(429, (int)first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(5), first.Headers.RetryAfter?.Delta);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ContentFilterPromptAnswers400WithAzuresBody()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.AzureDeploymentPath, Chat.Body("something nasty [emulator:content-filter-prompt]", stream: true), Cancellation);

        Assert.Equal(400, (int)response.StatusCode);
        var error = (await Chat.JsonAsync(response)).GetProperty("error");
        Assert.Equal("content_filter", error.GetProperty("code").GetString());
        Assert.Equal("prompt", error.GetProperty("param").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("type").ValueKind);
        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.StartsWith("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", error.GetProperty("message").GetString());
        var inner = error.GetProperty("innererror");
        Assert.Equal("ResponsibleAIPolicyViolation", inner.GetProperty("code").GetString());
        Assert.True(inner.GetProperty("content_filter_result").GetProperty("violence").GetProperty("filtered").GetBoolean());
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData(Chat.OpenAIPath)]
    [InlineData(Chat.AzureDeploymentPath)]
    public async Task ContentFilterStopsAStreamAfterAFewTokens(string path)
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, path, Chat.Body("tell me a story [emulator:content-filter]", stream: true), Cancellation);

        var payloads = await Chat.EventsAsync(response);
        Assert.Equal("[DONE]", payloads[^1]);
        var chunks = Chat.Chunks(payloads);
        Assert.InRange(Chat.TokenChunks(chunks).Count, 1, 20);
        var finish = chunks[^1].GetProperty("choices")[0];
        Assert.Equal("content_filter", finish.GetProperty("finish_reason").GetString());
        if (path == Chat.AzureDeploymentPath)
        {
            Assert.True(finish.GetProperty("content_filter_results").GetProperty("violence").GetProperty("filtered").GetBoolean());
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ContentFilterEndsAWholeReplyWithFinishReasonContentFilter()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("tell me a story [emulator:content-filter]"), Cancellation);

        var completion = await Chat.JsonAsync(response);
        Assert.Equal("content_filter", completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.InRange(completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 20);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ServerErrorAnswers500WithOpenAIsBody()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:server-error]", stream: true), Cancellation);

        Assert.Equal(500, (int)response.StatusCode);
        var error = (await Chat.JsonAsync(response)).GetProperty("error");
        Assert.Equal("The server had an error while processing your request. Sorry about that!", error.GetProperty("message").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("code").ValueKind);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ForbiddenAnswers403WithOpenAIsBody()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:forbidden]", stream: true), Cancellation);

        Assert.Equal(403, (int)response.StatusCode);
        var error = (await Chat.JsonAsync(response)).GetProperty("error");
        Assert.Equal("Country, region, or territory not supported", error.GetProperty("message").GetString());
        Assert.Equal("request_forbidden", error.GetProperty("type").GetString());
        Assert.Equal("unsupported_country_region_territory", error.GetProperty("code").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task DropCutsTheStreamAfterSomeTokensWithoutDone()
    {
        using var client = emulator.CreateHttpClient();
        var received = new List<string>();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:drop]", stream: true), Cancellation);
        var failure = await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
            while (await reader.ReadLineAsync(Cancellation) is { } line)
            {
                received.Add(line);
            }
        });

        Assert.NotNull(failure);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains(received, line => line.Contains("\"content\":\"") && !line.Contains("\"role\""));
        Assert.DoesNotContain("data: [DONE]", received);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task BadChunkSendsSomeTokensThenAChunkThatIsNotJsonThenDone()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:bad-chunk]", stream: true), Cancellation);
        var payloads = (await response.Content.ReadAsStringAsync(Cancellation))
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e["data: ".Length..] : throw new Xunit.Sdk.XunitException($"Not a data event: {e}"))
            .ToList();

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("[DONE]", payloads[^1]);
        var chunks = payloads[..^2];
        Assert.All(chunks, chunk => Assert.Equal("chat.completion.chunk", JsonDocument.Parse(chunk).RootElement.GetProperty("object").GetString()));
        Assert.Equal(10, chunks.Count(chunk => chunk.Contains("\"content\":\"") && !chunk.Contains("\"role\"")));
        Assert.DoesNotContain(chunks, chunk => chunk.Contains("\"finish_reason\":\""));
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(payloads[^2]));
        Assert.StartsWith("{\"id\":\"chatcmpl-", payloads[^2]);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task EveryChatResponseHasAnOpenAIStyleRequestId()
    {
        using var client = emulator.CreateHttpClient();

        using var ok = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello", maxTokens: 2), Cancellation);
        using var failed = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:server-error]"), Cancellation);

        var ids = new[] { ok, failed }.Select(r => r.Headers.GetValues("x-request-id").Single()).ToList();
        Assert.All(ids, id => Assert.Matches("^req_[0-9a-f]{32}$", id));
        Assert.NotEqual(ids[0], ids[1]);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task DropWithoutStreamingClosesTheConnectionWithoutAResponse()
    {
        using var client = emulator.CreateHttpClient();

        await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.SendAsync(Chat.Post(Chat.OpenAIPath, Chat.Body("hello [emulator:drop]")), Cancellation));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task SlowFirstTokenHoldsBackTheFirstTokenOnly()
    {
        using var client = emulator.CreateHttpClient();
        var clock = Stopwatch.StartNew();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:slow-first-token=1200] [emulator:delay=1]", stream: true, maxTokens: 20), Cancellation);
        var events = await Chat.TimedEventsAsync(response, clock, Cancellation);

        var tokens = events.Where(e => e.Payload.Contains("\"content\":\"") && !e.Payload.Contains("\"role\"")).ToList();
        Assert.Equal(20, tokens.Count);
        Assert.True(tokens[0].At >= TimeSpan.FromMilliseconds(1100), $"first token after {tokens[0].At}");
        // Had every token waited, the rest would take 19 x 1.2 s; how fast they come is the bench's to measure.
        Assert.True(tokens[^1].At - tokens[0].At < TimeSpan.FromSeconds(5), $"the rest took {tokens[^1].At - tokens[0].At}");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task LongGivesMoreThanAThousandTokens()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("the whole story [emulator:long] [emulator:delay=0]"), Cancellation);

        var completion = await Chat.JsonAsync(response);
        Assert.InRange(completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1001, 2000);
        Assert.Equal("stop", completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task LongWithACountGivesAboutThatManyTokens()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("the whole story [emulator:long=4000] [emulator:delay=0]"), Cancellation);

        var completion = await Chat.JsonAsync(response);
        Assert.InRange(completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 4000, 4400);
        Assert.Equal("stop", completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task TokensArriveOneDelayApart()
    {
        using var client = emulator.CreateHttpClient();
        var clock = Stopwatch.StartNew();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("pace me [emulator:delay=25]", stream: true, maxTokens: 40), Cancellation);
        var events = await Chat.TimedEventsAsync(response, clock, Cancellation);

        var tokens = events.Where(e => e.Payload.Contains("\"content\":\"") && !e.Payload.Contains("\"role\"")).ToList();
        Assert.Equal(40, tokens.Count);
        var spread = tokens[^1].At - tokens[0].At;
        var expected = TimeSpan.FromMilliseconds(39 * 25);
        Assert.True(spread >= expected * 0.9, $"tokens spread over {spread}, expected about {expected}");
        Assert.True(spread <= expected * 3, $"tokens spread over {spread}, expected about {expected}");
        // Flushed one by one: the token chunks did not all arrive at once.
        Assert.True(tokens[20].At - tokens[0].At >= TimeSpan.FromMilliseconds(20 * 25 * 0.9));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task XssGivesAReplyWithHostileMarkupAmongOrdinaryText()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("render this [emulator:xss]", stream: true), Cancellation);

        var text = Chat.Text(Chat.Chunks(await Chat.EventsAsync(response)));
        Assert.Contains("<img src=x onerror=\"window.__xss=1\">", text);
        Assert.Contains("<script>window.__xss=2</script>", text);
        Assert.Contains("[click me](javascript:window.__xss=3)", text);
        Assert.Contains("\n- ", text);
        Assert.True(text.Length > 300);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task DirectivesAreReadFromTheLastUserMessageOnly()
    {
        using var client = emulator.CreateHttpClient();
        var body = Chat.Body("an ordinary question");
        body["messages"]![0]!["content"] = "[emulator:server-error]";

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, Cancellation);

        Assert.Equal(200, (int)response.StatusCode);
    }
}
