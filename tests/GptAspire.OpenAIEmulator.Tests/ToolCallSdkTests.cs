using System.ClientModel;
using System.Text;
using System.Text.Json;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;
using AIFinishReason = Microsoft.Extensions.AI.ChatFinishReason;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>
/// The official OpenAI .NET SDK and Microsoft.Extensions.AI read the emulator's tool calls as they read OpenAI's:
/// the SDK's streaming updates put each call's arguments back together into the JSON that was asked for, and
/// the IChatClient turns them into <see cref="FunctionCallContent"/> with parsed arguments, then gets an answer
/// that uses the results it sends back.
/// </summary>
public sealed class ToolCallSdkTests(EmulatorFixture emulator)
{
    private const string ForcedArguments = """{"timeZone": "Asia/Tokyo", "note": "brackets [] and {} inside a string"}""";

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static readonly ChatTool TimeTool = ChatTool.CreateFunctionTool(
        "get_current_time",
        "The current local time in an IANA time zone.",
        BinaryData.FromString("""{"type":"object","properties":{"timeZone":{"type":"string"}},"required":["timeZone"]}"""));

    private static readonly ChatTool CalculateTool = ChatTool.CreateFunctionTool(
        "calculate",
        "Evaluates an arithmetic expression.",
        BinaryData.FromString("""{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}"""));

    private ChatClient Client(string basePath) => new(
        "gpt-4o-mini",
        new ApiKeyCredential(EmulatorFactory.ApiKey),
        new OpenAIClientOptions { Endpoint = new Uri(emulator.BaseAddress, basePath) });

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("/v1")]
    [InlineData("/openai/v1")]
    public async Task The_SDKs_streaming_updates_reassemble_forced_and_parallel_calls(string basePath)
    {
        ChatMessage[] conversation = [new UserChatMessage($"What is 3*(4+5)? [emulator:tool=get_current_time {ForcedArguments}] [emulator:tool=calculate]")];
        var options = new ChatCompletionOptions { Tools = { TimeTool, CalculateTool } };

        var ids = new Dictionary<int, string>();
        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        var fragments = 0;
        OpenAI.Chat.ChatFinishReason? finishReason = null;
        await foreach (var update in Client(basePath).CompleteChatStreamingAsync(conversation, options, Cancellation))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.ToolCallId is { } id)
                {
                    ids[call.Index] = id;
                    names[call.Index] = call.FunctionName;
                }

                arguments.TryAdd(call.Index, new StringBuilder());
                arguments[call.Index].Append(call.FunctionArgumentsUpdate?.ToString());
                fragments++;
            }

            finishReason ??= update.FinishReason;
        }

        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, finishReason);
        Assert.Equal([0, 1], ids.Keys.Order());
        Assert.All(ids.Values, id => Assert.Matches("^call_[A-Za-z0-9]{24}$", id));
        Assert.NotEqual(ids[0], ids[1]);
        Assert.Equal(["get_current_time", "calculate"], [names[0], names[1]]);
        Assert.Equal(ForcedArguments, arguments[0].ToString());
        Assert.Equal("Asia/Tokyo", JsonDocument.Parse(arguments[0].ToString()).RootElement.GetProperty("timeZone").GetString());
        Assert.Equal("{}", arguments[1].ToString());
        Assert.True(fragments > 10, $"the arguments came in {fragments} updates");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_SDK_reads_a_whole_reply_with_calls_and_sends_the_results_back_for_an_answer()
    {
        var client = Client("/v1");
        List<ChatMessage> conversation = [new UserChatMessage("What is (12.5 + 7) * 3?")];
        var options = new ChatCompletionOptions { Tools = { TimeTool, CalculateTool } };

        ChatCompletion calls = await client.CompleteChatAsync(conversation, options, Cancellation);

        Assert.Equal(OpenAI.Chat.ChatFinishReason.ToolCalls, calls.FinishReason);
        var call = Assert.Single(calls.ToolCalls);
        Assert.Equal("calculate", call.FunctionName);
        Assert.Equal("(12.5 + 7) * 3", JsonDocument.Parse(call.FunctionArguments.ToString()).RootElement.GetProperty("expression").GetString());

        conversation.Add(new AssistantChatMessage(calls));
        conversation.Add(new ToolChatMessage(call.Id, """{"expression":"(12.5 + 7) * 3","value":58.5}"""));
        ChatCompletion answer = await client.CompleteChatAsync(conversation, options, Cancellation);

        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, answer.FinishReason);
        Assert.Contains("**58.5**", answer.Content[0].Text);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_IChatClient_gives_function_calls_with_parsed_arguments_and_invokes_them_to_an_answer()
    {
        var chatClient = Client("/v1").AsIChatClient();
        var tools = new ChatOptions
        {
            Tools =
            [
                AIFunctionFactory.Create((string timeZone) => new { timeZone, localTime = "2026-12-05T12:34:56+09:00" }, "get_current_time", "The current local time in an IANA time zone."),
            ],
        };

        FunctionCallContent? call = null;
        AIFinishReason? finishReason = null;
        await foreach (var update in chatClient.GetStreamingResponseAsync("What time is it in Tokyo?", tools, Cancellation))
        {
            call ??= update.Contents.OfType<FunctionCallContent>().FirstOrDefault();
            finishReason ??= update.FinishReason;
        }

        Assert.Equal(AIFinishReason.ToolCalls, finishReason);
        Assert.NotNull(call);
        Assert.Equal("get_current_time", call.Name);
        Assert.Equal("Asia/Tokyo", call.Arguments?["timeZone"]?.ToString());

        // FunctionInvokingChatClient, as the API uses it: the call is run and the emulator answers from its result.
        using var invoking = new FunctionInvokingChatClient(chatClient);
        var text = new StringBuilder();
        await foreach (var update in invoking.GetStreamingResponseAsync([new AIChatMessage(AIChatRole.User, "What time is it in Tokyo?")], tools, Cancellation))
        {
            text.Append(update.Text);
        }

        Assert.Contains("In `Asia/Tokyo` it is **12:34**", text.ToString());
    }
}
