using System.Text.Json;
using GptAspire.OpenAIEmulator.Services;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

public sealed class StreamingWireFormatTests(EmulatorFixture emulator)
{
    private static readonly ChatTokenizer Tokenizer = new();

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIStreamSendsRoleThenOneChunkPerTokenThenFinishThenUsageThenDone()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("How do retries work with streaming? [emulator:delay=0]", stream: true, includeUsage: true), TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", Chat.ContentType(response)?.MediaType);
        var payloads = await Chat.EventsAsync(response);
        Assert.Equal("[DONE]", payloads[^1]);
        var chunks = Chat.Chunks(payloads);

        var first = chunks[0];
        var id = first.GetProperty("id").GetString()!;
        Assert.StartsWith("chatcmpl-", id);
        foreach (var chunk in chunks)
        {
            Assert.Equal(id, chunk.GetProperty("id").GetString());
            Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString());
            Assert.Equal("gpt-4o-mini", chunk.GetProperty("model").GetString());
            Assert.True(chunk.GetProperty("created").GetInt64() > 1_700_000_000);
            Assert.Equal(JsonValueKind.String, chunk.GetProperty("system_fingerprint").ValueKind);
            Assert.False(chunk.TryGetProperty("prompt_filter_results", out _));
        }

        Assert.Equal("""{"role":"assistant","content":"","refusal":null}""", Choice(first).GetProperty("delta").GetRawText());
        AssertOpenChoice(Choice(first));

        var tokens = chunks.Skip(1).Take(chunks.Count - 3).ToList();
        Assert.NotEmpty(tokens);
        foreach (var token in tokens)
        {
            var delta = Choice(token).GetProperty("delta");
            Assert.Equal(["content"], delta.EnumerateObject().Select(property => property.Name));
            Assert.NotEqual("", delta.GetProperty("content").GetString());
            AssertOpenChoice(Choice(token));
        }

        var finish = chunks[^2];
        Assert.Equal("{}", Choice(finish).GetProperty("delta").GetRawText());
        Assert.Equal("stop", Choice(finish).GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, Choice(finish).GetProperty("logprobs").ValueKind);

        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        var usage = usageChunk.GetProperty("usage");
        var completionTokens = Tokenizer.Count(Chat.Text(chunks));
        Assert.Equal(completionTokens, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + completionTokens, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("prompt_tokens_details").GetProperty("audio_tokens").GetInt32());
        Assert.Equal(0, usage.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());

        // With include_usage, OpenAI sends "usage": null on every chunk but the last.
        Assert.All(chunks.SkipLast(1), chunk => Assert.Equal(JsonValueKind.Null, chunk.GetProperty("usage").ValueKind));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task AsciiRepliesArriveAsExactlyOneChunkPerToken()
    {
        using var client = emulator.CreateHttpClient();

        // The opening sentence of every reply is plain ASCII, so no token needs merging with the next.
        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("Explain connection pooling in HttpClient", stream: true, includeUsage: true, maxTokens: 25), TestContext.Current.CancellationToken);

        var chunks = Chat.Chunks(await Chat.EventsAsync(response));
        var text = Chat.Text(chunks);
        Assert.Equal(25, Tokenizer.Count(text));
        Assert.Equal(25, Chat.TokenChunks(chunks).Count);
        Assert.Equal(25, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task WithoutIncludeUsageNoChunkHasAUsageProperty()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("What is a vector clock?", stream: true), TestContext.Current.CancellationToken);

        var payloads = await Chat.EventsAsync(response);
        Assert.Equal("[DONE]", payloads[^1]);
        var chunks = Chat.Chunks(payloads);
        Assert.All(chunks, chunk => Assert.False(chunk.TryGetProperty("usage", out _)));
        Assert.Equal("stop", Choice(chunks[^1]).GetProperty("finish_reason").GetString());
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData(Chat.AzureDeploymentPath)]
    [InlineData(Chat.AzureV1Path)]
    public async Task AzureStreamStartsWithPromptFilterResultsAndCarriesContentFilterResults(string path)
    {
        using var client = emulator.CreateHttpClient(withKey: false);
        using var request = Chat.Post(path, Chat.Body("Summarise the CAP theorem", stream: true, includeUsage: true));
        Chat.AddApiKeyHeader(request, EmulatorFactory.ApiKey);

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)response.StatusCode);
        var payloads = await Chat.EventsAsync(response);
        Assert.Equal("[DONE]", payloads[^1]);
        var chunks = Chat.Chunks(payloads);

        var first = chunks[0];
        Assert.Equal(0, first.GetProperty("choices").GetArrayLength());
        Assert.Equal("", first.GetProperty("model").GetString());
        var promptFilter = Assert.Single(first.GetProperty("prompt_filter_results").EnumerateArray());
        Assert.Equal(0, promptFilter.GetProperty("prompt_index").GetInt32());
        foreach (var category in new[] { "hate", "self_harm", "sexual", "violence" })
        {
            var verdict = promptFilter.GetProperty("content_filter_results").GetProperty(category);
            Assert.False(verdict.GetProperty("filtered").GetBoolean());
            Assert.Equal("safe", verdict.GetProperty("severity").GetString());
        }

        var role = chunks[1];
        Assert.Equal("assistant", Choice(role).GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("{}", Choice(role).GetProperty("content_filter_results").GetRawText());

        var tokens = Chat.TokenChunks(chunks);
        Assert.NotEmpty(tokens);
        Assert.All(tokens, token => Assert.Equal("safe",
            Choice(token).GetProperty("content_filter_results").GetProperty("violence").GetProperty("severity").GetString()));

        Assert.Equal("stop", Choice(chunks[^2]).GetProperty("finish_reason").GetString());
        Assert.Equal(0, chunks[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(tokens.Count, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task StreamedTextEqualsTheWholeReplyEvenWhenTokensSplitCharacters()
    {
        using var client = emulator.CreateHttpClient();
        const string prompt = "日本語 deployments: the long version please [emulator:long] [emulator:delay=0]";

        using var streamed = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt, stream: true, includeUsage: true), TestContext.Current.CancellationToken);
        var chunks = Chat.Chunks(await Chat.EventsAsync(streamed));
        var text = Chat.Text(chunks);
        using var whole = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt), TestContext.Current.CancellationToken);
        var content = (await Chat.JsonAsync(whole)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();

        Assert.Equal(content, text);
        // 🚀 is two tokens; each half alone is not valid text, so the two must arrive as one chunk.
        Assert.Contains("🚀", text);
        Assert.DoesNotContain('\uFFFD', text);
        Assert.All(Chat.TokenChunks(chunks), chunk => Assert.DoesNotContain('\uFFFD', Choice(chunk).GetProperty("delta").GetProperty("content").GetString()!));
        Assert.Contains(Chat.TokenChunks(chunks), chunk => Choice(chunk).GetProperty("delta").GetProperty("content").GetString()!.Contains("🚀"));
        Assert.True(Chat.TokenChunks(chunks).Count < chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32(), "some chunks carry two tokens");
    }

    private static JsonElement Choice(JsonElement chunk) => Assert.Single(chunk.GetProperty("choices").EnumerateArray());

    private static void AssertOpenChoice(JsonElement choice)
    {
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("finish_reason").ValueKind);
    }
}
