using System.ClientModel;
using System.Text;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over the OpenAI SDK, on OpenAI's route and on Azure's
/// <c>/openai/v1</c> route (whose first chunk has no choices), as an app built on it sees the emulator.
/// </summary>
public sealed class ExtensionsAICompatibilityTests(EmulatorFixture emulator)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIChatClientStreamsTheWholeReplyAndItsUsage()
    {
        var client = new OpenAIClient(new ApiKeyCredential(EmulatorFactory.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(emulator.BaseAddress, "/v1") })
            .GetChatClient("gpt-4o-mini")
            .AsIChatClient();

        await AssertStreamMatchesWholeReplyAsync(client, "What is a circuit breaker?");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task OpenAIChatClientOnAzuresV1RouteStreamsTheWholeReplyAndItsUsage()
    {
        var client = new OpenAIClient(new ApiKeyCredential(EmulatorFactory.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(emulator.BaseAddress, "/openai/v1") })
            .GetChatClient("gpt-4o-mini")
            .AsIChatClient();

        await AssertStreamMatchesWholeReplyAsync(client, "What is a bulkhead?");
    }

    private static async Task AssertStreamMatchesWholeReplyAsync(IChatClient client, string question)
    {
        var whole = await client.GetResponseAsync(question, cancellationToken: Cancellation);

        var streamed = new StringBuilder();
        UsageDetails? usage = null;
        ChatFinishReason? finishReason = null;
        await foreach (var update in client.GetStreamingResponseAsync(question, cancellationToken: Cancellation))
        {
            streamed.Append(update.Text);
            usage ??= update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
            finishReason ??= update.FinishReason;
        }

        Assert.Equal(whole.Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Stop, finishReason);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage?.OutputTokenCount, usage.OutputTokenCount);
        Assert.InRange(usage.OutputTokenCount ?? 0, 120, 250);
    }
}
