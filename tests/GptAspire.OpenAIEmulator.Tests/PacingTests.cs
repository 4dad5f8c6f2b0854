using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>Every stream keeps its own pace on the emulator's one shared clock.</summary>
public sealed class PacingTests(EmulatorFixture emulator)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ConcurrentStreamsEachGetEveryTokenAndTheirDone()
    {
        using var client = emulator.CreateHttpClient();
        // Different delays, so that the streams' chunks fall due at different times on the one clock.
        int[] delays = [5, 7, 11, 13, 20];

        var streams = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body($"stream {i} [emulator:delay={delays[i % delays.Length]}]", stream: true, maxTokens: 15), Cancellation);
            var payloads = await Chat.EventsAsync(response);
            var chunks = Chat.Chunks(payloads);
            return (
                Tokens: Chat.TokenChunks(chunks).Count,
                Finish: chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString(),
                Done: payloads[^1] == "[DONE]");
        }));

        Assert.All(streams, stream => Assert.Equal((15, "length", true), stream));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task HeadersArriveBeforeASlowFirstToken()
    {
        using var client = emulator.CreateHttpClient();
        using var headersDeadline = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        headersDeadline.CancelAfter(TimeSpan.FromSeconds(10));

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello [emulator:slow-first-token=60000]", stream: true), headersDeadline.Token);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", Chat.ContentType(response)?.MediaType);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ACallerThatGoesAwayBeforeASlowFirstTokenIsRecordedAsCancelledAtOnce()
    {
        using var client = emulator.CreateHttpClient();
        var traceparent = RequestLogClient.NewTraceparent();
        using var request = Chat.Post(Chat.OpenAIPath, Chat.Body("hello [emulator:slow-first-token=60000]", stream: true));
        request.Headers.Add("traceparent", traceparent);

        using (await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation))
        {
        }

        // Ended within EndedAsync's 10 s, not when the first token would have been due a minute later.
        var entry = await RequestLogClient.EndedAsync(client, traceparent);
        Assert.True(entry.GetProperty("cancelled").GetBoolean());
        Assert.Equal(0, entry.GetProperty("completionTokens").GetInt32());
    }
}
