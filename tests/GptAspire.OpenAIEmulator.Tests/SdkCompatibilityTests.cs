using System.ClientModel;
using System.Text;
using Azure.AI.OpenAI;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>The official clients, over real HTTP, cannot tell the emulator from the service.</summary>
public sealed class SdkCompatibilityTests(EmulatorFixture emulator)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static ChatMessage[] Conversation(string question) =>
        [new SystemChatMessage("You are a helpful assistant."), new UserChatMessage(question)];

    [Fact]
    public async Task OpenAIClientStreamsTheSameTextItGetsWholeAndReportsUsage()
    {
        var client = OpenAIChatClient("/v1");

        await AssertStreamMatchesWholeReplyAsync(client, "How do I page through results in a REST API?");
    }

    [Fact]
    public async Task OpenAIClientWorksOnAzuresV1Route()
    {
        var client = OpenAIChatClient("/openai/v1");

        await AssertStreamMatchesWholeReplyAsync(client, "What does a load balancer do?");
    }

    [Fact]
    public async Task AzureOpenAIClientStreamsTheSameTextItGetsWholeOnTheDeploymentRoute()
    {
        var azure = new AzureOpenAIClient(emulator.BaseAddress, new ApiKeyCredential(EmulatorFactory.ApiKey));
        var client = azure.GetChatClient("gpt-4o-mini");

        await AssertStreamMatchesWholeReplyAsync(client, "Explain eventual consistency");
    }

    [Fact]
    public async Task OpenAIClientSeesFinishReasonLengthAtMaxOutputTokens()
    {
        var client = OpenAIChatClient("/v1");

        ChatCompletion completion = await client.CompleteChatAsync(
            Conversation("Explain load shedding"), new ChatCompletionOptions { MaxOutputTokenCount = 12 }, Cancellation);

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(12, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task OpenAIClientSeesFinishReasonContentFilter()
    {
        var client = OpenAIChatClient("/v1");
        ChatFinishReason? finishReason = null;

        await foreach (var update in client.CompleteChatStreamingAsync(Conversation("a story [emulator:content-filter]"), cancellationToken: Cancellation))
        {
            finishReason ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ContentFilter, finishReason);
    }

    [Fact]
    public async Task OpenAIClientReportsAWrongKeyAs401()
    {
        var client = new ChatClient("gpt-4o-mini", new ApiKeyCredential("wrong-key-0000000000"),
            new OpenAIClientOptions { Endpoint = new Uri(emulator.BaseAddress, "/v1") });

        var failure = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(Conversation("hello"), cancellationToken: Cancellation));

        Assert.Equal(401, failure.Status);
        Assert.Contains("Incorrect API key provided", failure.Message);
    }

    private ChatClient OpenAIChatClient(string basePath) => new(
        "gpt-4o-mini",
        new ApiKeyCredential(EmulatorFactory.ApiKey),
        new OpenAIClientOptions { Endpoint = new Uri(emulator.BaseAddress, basePath) });

    private static async Task AssertStreamMatchesWholeReplyAsync(ChatClient client, string question)
    {
        ChatCompletion whole = await client.CompleteChatAsync(Conversation(question), cancellationToken: Cancellation);

        var streamed = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finishReason = null;
        var updates = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(Conversation(question), cancellationToken: Cancellation))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }

            usage ??= update.Usage;
            finishReason ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.Stop, whole.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, whole.Role);
        Assert.Equal(whole.Content[0].Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Stop, finishReason);
        Assert.True(updates > whole.Usage.OutputTokenCount, "one update per token at least");
        Assert.InRange(whole.Usage.OutputTokenCount, 120, 250);
        Assert.True(whole.Usage.InputTokenCount > 10);
        Assert.Equal(whole.Usage.InputTokenCount + whole.Usage.OutputTokenCount, whole.Usage.TotalTokenCount);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
    }
}
