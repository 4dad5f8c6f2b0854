using System.Text.Json;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

public sealed class RequestLogTests(EmulatorFixture emulator)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ACallerThatGoesAwayMidStreamIsRecordedAsCancelledWithItsTraceparent()
    {
        using var client = emulator.CreateHttpClient();
        var traceparent = RequestLogClient.NewTraceparent();
        using var request = Chat.Post(Chat.OpenAIPath, Chat.Body("a slow answer please [emulator:delay=40]", stream: true));
        request.Headers.Add("traceparent", traceparent);

        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
            var tokens = 0;
            while (tokens < 5 && await reader.ReadLineAsync(Cancellation) is { } line)
            {
                tokens += line.Contains("\"content\":\"") && !line.Contains("\"role\"") ? 1 : 0;
            }
        }

        var entry = await RequestLogClient.EndedAsync(client, traceparent);
        Assert.True(entry.GetProperty("cancelled").GetBoolean());
        Assert.False(entry.GetProperty("completed").GetBoolean());
        Assert.Equal("openai", entry.GetProperty("route").GetString());
        Assert.True(entry.GetProperty("stream").GetBoolean());
        Assert.Equal(["delay"], entry.GetProperty("scenario").EnumerateArray().Select(name => name.GetString()));
        // It stopped generating: far fewer tokens than the 120+ of a whole reply.
        Assert.InRange(entry.GetProperty("completionTokens").GetInt32(), 5, 60);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ACompletedCallIsRecordedWithoutItsMessagesOrKey()
    {
        using var client = emulator.CreateHttpClient(withKey: false);
        var traceparent = RequestLogClient.NewTraceparent();
        var secret = $"secret-{Guid.NewGuid():N}";
        using var request = Chat.Post(Chat.AzureDeploymentPath, Chat.Body($"remember {secret}", stream: true, maxTokens: 9));
        request.Headers.Add("traceparent", traceparent);
        Chat.AddApiKeyHeader(request, EmulatorFactory.ApiKey);

        using var response = await client.SendAsync(request, Cancellation);
        await response.Content.ReadAsStringAsync(Cancellation);

        var entry = await RequestLogClient.EndedAsync(client, traceparent);
        Assert.Equal("azure-deployment", entry.GetProperty("route").GetString());
        Assert.Equal("/openai/deployments/gpt-4o-mini/chat/completions", entry.GetProperty("path").GetString());
        Assert.Equal("gpt-4o-mini", entry.GetProperty("model").GetString());
        Assert.Equal(200, entry.GetProperty("status").GetInt32());
        Assert.Equal(9, entry.GetProperty("completionTokens").GetInt32());
        Assert.True(entry.GetProperty("completed").GetBoolean());
        Assert.False(entry.GetProperty("cancelled").GetBoolean());
        Assert.StartsWith("req_", entry.GetProperty("id").GetString());
        Assert.True(entry.GetProperty("endedAt").GetDateTimeOffset() >= entry.GetProperty("startedAt").GetDateTimeOffset());

        var log = JsonSerializer.Serialize(await RequestLogClient.AllAsync(client));
        Assert.DoesNotContain(secret, log);
        Assert.DoesNotContain(EmulatorFactory.ApiKey, log);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ADroppedStreamIsRecordedAsNeitherCompletedNorCancelled()
    {
        using var client = emulator.CreateHttpClient();
        var traceparent = RequestLogClient.NewTraceparent();
        using var request = Chat.Post(Chat.OpenAIPath, Chat.Body("hello [emulator:drop]", stream: true));
        request.Headers.Add("traceparent", traceparent);

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);
        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => response.Content.ReadAsStringAsync(Cancellation));
        Assert.IsAssignableFrom<IOException>(failure.InnerException);

        var entry = await RequestLogClient.EndedAsync(client, traceparent);
        Assert.False(entry.GetProperty("completed").GetBoolean());
        Assert.False(entry.GetProperty("cancelled").GetBoolean());
        Assert.Equal(["drop"], entry.GetProperty("scenario").EnumerateArray().Select(name => name.GetString()));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ARefusedCallIsRecordedWithItsStatus()
    {
        using var client = emulator.CreateHttpClient(withKey: false);
        var traceparent = RequestLogClient.NewTraceparent();
        using var request = Chat.Post(Chat.AzureV1Path, Chat.Body("hello"));
        request.Headers.Add("traceparent", traceparent);

        using var response = await client.SendAsync(request, Cancellation);

        var entry = await RequestLogClient.EndedAsync(client, traceparent);
        Assert.Equal(401, entry.GetProperty("status").GetInt32());
        Assert.Equal("azure-v1", entry.GetProperty("route").GetString());
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("model").ValueKind);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task RequestsAreListedOldestFirst()
    {
        using var client = emulator.CreateHttpClient();
        var first = RequestLogClient.NewTraceparent();
        var second = RequestLogClient.NewTraceparent();

        foreach (var traceparent in new[] { first, second })
        {
            using var request = Chat.Post(Chat.OpenAIPath, Chat.Body("hello [emulator:delay=0]"));
            request.Headers.Add("traceparent", traceparent);
            using var response = await client.SendAsync(request, Cancellation);
        }

        var traceparents = (await RequestLogClient.AllAsync(client))
            .Select(entry => entry.GetProperty("traceparent").GetString())
            .Where(traceparent => traceparent == first || traceparent == second);
        Assert.Equal([first, second], traceparents);
    }
}
