using System.Text.Json;
using System.Text.RegularExpressions;
using GptAspire.OpenAIEmulator.Services;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using Microsoft.ML.Tokenizers;

namespace GptAspire.OpenAIEmulator.Tests;

public sealed class CompletionTests(EmulatorFixture emulator)
{
    private static readonly TiktokenTokenizer O200k = TiktokenTokenizer.CreateForModel("gpt-4o");

    [Fact(Timeout = Bounds.TestMs)]
    public async Task NonStreamingReplyIsAChatCompletionWithUsage()
    {
        using var client = emulator.CreateHttpClient();
        const string prompt = "How should I cache configuration values?";

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt), TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/json", Chat.ContentType(response)?.MediaType);
        var completion = await Chat.JsonAsync(response);
        Assert.StartsWith("chatcmpl-", completion.GetProperty("id").GetString());
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.Equal("gpt-4o-mini", completion.GetProperty("model").GetString());
        var choice = Assert.Single(completion.GetProperty("choices").EnumerateArray());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("refusal").ValueKind);
        var content = message.GetProperty("content").GetString()!;

        var usage = completion.GetProperty("usage");
        Assert.Equal(O200k.CountTokens(content), usage.GetProperty("completion_tokens").GetInt32());
        // OpenAI's count: 3 per message + role + content, and 3 to prime the reply.
        var expectedPrompt = 3 + (3 + O200k.CountTokens("system") + O200k.CountTokens("You are a helpful assistant."))
                               + (3 + O200k.CountTokens("user") + O200k.CountTokens(prompt));
        Assert.Equal(expectedPrompt, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expectedPrompt + O200k.CountTokens(content), usage.GetProperty("total_tokens").GetInt32());
        Assert.False(completion.TryGetProperty("prompt_filter_results", out _));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task AzureNonStreamingReplyCarriesFilterResults()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.AzureDeploymentPath, Chat.Body("Describe blue-green deployments"), TestContext.Current.CancellationToken);

        var completion = await Chat.JsonAsync(response);
        Assert.Equal("safe", completion.GetProperty("prompt_filter_results")[0].GetProperty("content_filter_results").GetProperty("hate").GetProperty("severity").GetString());
        Assert.False(completion.GetProperty("choices")[0].GetProperty("content_filter_results").GetProperty("violence").GetProperty("filtered").GetBoolean());
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("How do I stream tokens from ASP.NET Core?", true)]
    [InlineData("What is the difference between a mutex and a semaphore?", true)]
    [InlineData("Write a haiku about Kubernetes", true)]
    [InlineData("¿Cómo funciona la recolección de basura en .NET?", true)]
    [InlineData("日本語で説明してください", false)]
    [InlineData("hi", false)]
    [InlineData("", false)]
    [InlineData("Compare PostgreSQL and SQLite for a small desktop app, with pros and cons", true)]
    [InlineData("Why does my Vite dev server not proxy websocket requests?", true)]
    [InlineData("Explain OpenTelemetry traces, spans and baggage", true)]
    [InlineData("What should I pack for a week at the seaside?", false)]
    public async Task DefaultReplyIsMarkdownOfModerateLengthWithCodeForProgrammingQuestions(string prompt, bool code)
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt), TestContext.Current.CancellationToken);

        var completion = await Chat.JsonAsync(response);
        var content = completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        var tokens = completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.InRange(tokens, 120, 250);
        Assert.Contains("\n\n", content);
        Assert.Matches(new Regex(@"^- \S", RegexOptions.Multiline), content);
        Assert.Equal(code, Regex.IsMatch(content, @"^```\w+\n[\s\S]+\n```$", RegexOptions.Multiline));
        Assert.DoesNotMatch(new Regex("^#", RegexOptions.Multiline), content.Split("```")[0]);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task TheSamePromptGetsTheSameReplyOnEveryRouteAndADifferentPromptAnotherOne()
    {
        using var client = emulator.CreateHttpClient();

        var first = await ContentAsync(client, Chat.OpenAIPath, "Tell me about idempotency keys");
        var again = await ContentAsync(client, Chat.OpenAIPath, "Tell me about idempotency keys");
        var azure = await ContentAsync(client, Chat.AzureDeploymentPath, "Tell me about idempotency keys");
        var withDirective = await ContentAsync(client, Chat.OpenAIPath, "Tell me about idempotency keys [emulator:delay=0]");
        var other = await ContentAsync(client, Chat.OpenAIPath, "Tell me about message queues");

        Assert.Equal(first, again);
        Assert.Equal(first, azure);
        Assert.Equal(first, withDirective);
        Assert.NotEqual(first, other);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("max_tokens", false)]
    [InlineData("max_completion_tokens", false)]
    [InlineData("max_tokens", true)]
    public async Task MaxTokensCutsTheReplyAtExactlyThatManyTokensWithFinishReasonLength(string parameter, bool stream)
    {
        using var client = emulator.CreateHttpClient();
        var body = Chat.Body("Explain backpressure in streaming systems", stream: stream, includeUsage: stream);
        body[parameter] = 17;

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, TestContext.Current.CancellationToken);

        if (stream)
        {
            var chunks = Chat.Chunks(await Chat.EventsAsync(response));
            Assert.Equal(17, Chat.TokenChunks(chunks).Count);
            Assert.Equal("length", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Equal(17, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }
        else
        {
            var completion = await Chat.JsonAsync(response);
            Assert.Equal("length", completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Equal(17, completion.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            Assert.Equal(17, O200k.CountTokens(completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!));
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task ContentPartsArraysAreReadLikeStrings()
    {
        using var client = emulator.CreateHttpClient();
        var body = Chat.Body("placeholder");
        body["messages"]![1]!["content"] = new System.Text.Json.Nodes.JsonArray(
            new System.Text.Json.Nodes.JsonObject { ["type"] = "text", ["text"] = "Tell me about idempotency keys" });

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, TestContext.Current.CancellationToken);

        var content = (await Chat.JsonAsync(response)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
        Assert.Equal(await ContentAsync(client, Chat.OpenAIPath, "Tell me about idempotency keys"), content);
    }

    private static async Task<string> ContentAsync(HttpClient client, string path, string prompt)
    {
        using var response = await Chat.SendAsync(client, path, Chat.Body(prompt), TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);
        return (await Chat.JsonAsync(response)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }
}
