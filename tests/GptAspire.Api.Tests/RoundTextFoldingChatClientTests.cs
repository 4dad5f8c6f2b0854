using System.Runtime.CompilerServices;
using System.Text.Json;
using GptAspire.Api.Services.Tools;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Tests;

public class RoundTextFoldingChatClientTests
{
    private static readonly AIFunction Add = AIFunctionFactory.Create((int a, int b) => a + b, "add");

    public static TheoryData<string> Scripts => ["text, then a call", "a call, no text", "text of two messages, then a call", "text after the call", "text only"];

    [Theory(Timeout = Bounds.TestMs)]
    [MemberData(nameof(Scripts))]
    public async Task The_function_invoking_client_sends_the_model_the_same_history_and_the_reader_sees_the_same_tokens_as_without_folding(string script)
    {
        var plain = await RunAsync(script, folded: false);
        var folded = await RunAsync(script, folded: true);

        Assert.Equal(plain.Tokens, folded.Tokens);
        Assert.Equal(plain.Calls, folded.Calls);
        Assert.Equal(script == "text only" ? 1 : 2, folded.Calls.Count);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_round_that_called_a_tool_comes_back_to_the_model_as_its_whole_text_and_the_call()
    {
        var folded = await RunAsync("text, then a call", folded: true);

        // The second call to the model carries the first round's assistant message: its text whole, then the call.
        using var second = JsonDocument.Parse(folded.Calls[1]);
        var assistant = second.RootElement.EnumerateArray().Single(message => message.GetProperty("role").GetString() == "assistant");
        var contents = assistant.GetProperty("contents").EnumerateArray().ToList();
        Assert.Equal("Let me add that up.", contents[0].GetProperty("text").GetString());
        Assert.Equal("add", contents[1].GetProperty("name").GetString());
        Assert.Equal(["Let", " me", " add", " that", " up.", "The", " sum", " is", " 5."], folded.Tokens);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_round_keeps_one_update_object_for_its_tokens_after_the_first()
    {
        var seen = new List<ChatResponseUpdate>();
        using var client = new RoundTextFoldingChatClient(new ScriptedModel("text only"));
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Hi")], cancellationToken: TestContext.Current.CancellationToken))
        {
            seen.Add(update);
        }

        var tokens = seen.Take(4).ToList();
        Assert.Equal(2, tokens.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal("The sum is 5.", seen.ToChatResponse().Text);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [MemberData(nameof(Scripts))]
    public async Task The_updates_from_below_are_never_changed_for_the_clients_there_that_keep_them(string script)
    {
        // As Microsoft.Extensions.AI's OpenTelemetry client keeps them when message contents are recorded.
        var keeping = new KeepingClient(new ScriptedModel(script));
        await RunAsync(keeping, folded: true);

        Assert.NotEmpty(keeping.Kept);
        Assert.All(keeping.Kept, kept => Assert.Equal(kept.TextWhenYielded, kept.Update.Text));
    }

    private static Task<(List<string> Tokens, List<string> Calls)> RunAsync(string script, bool folded) =>
        RunAsync(new ScriptedModel(script), folded);

    private static async Task<(List<string> Tokens, List<string> Calls)> RunAsync(IChatClient inner, bool folded)
    {
        var model = inner as ScriptedModel ?? inner.GetService<ScriptedModel>()!;
        using var client = new FunctionInvokingChatClient(folded ? new RoundTextFoldingChatClient(inner) : inner);
        var tokens = new List<string>();
        await foreach (var update in client.GetStreamingResponseAsync(
            [new ChatMessage(ChatRole.User, "What is 2 + 3?")], new ChatOptions { Tools = [Add] }, TestContext.Current.CancellationToken))
        {
            // Read at once, as the API's streaming loop does: the folded client reuses the object for the next token.
            if (update.Text is { Length: > 0 } text)
            {
                tokens.Add(text);
            }
        }

        return (tokens, model.Calls);
    }

    private sealed class KeepingClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        public List<(ChatResponseUpdate Update, string TextWhenYielded)> Kept { get; } = [];

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                Kept.Add((update, update.Text));
                yield return update;
            }
        }
    }

    // A model that answers in rounds: each round a list of updates as Microsoft.Extensions.AI converts OpenAI chunks.
    private sealed class ScriptedModel(string script) : IChatClient
    {
        public List<string> Calls { get; } = [];

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Calls.Add(JsonSerializer.Serialize(messages.ToList(), AIJsonUtilities.DefaultOptions));
            var round = Calls.Count;
            foreach (var update in Round(round))
            {
                await Task.Yield();
                yield return update;
            }
        }

        private IEnumerable<ChatResponseUpdate> Round(int round)
        {
            var calls = script != "text only" && round == 1;
            var response = $"chatcmpl-{round}";
            if (!calls || script is "text, then a call" or "text of two messages, then a call")
            {
                var words = calls ? new[] { "Let", " me", " add", " that", " up." } : ["The", " sum", " is", " 5."];
                for (var i = 0; i < words.Length; i++)
                {
                    var message = script == "text of two messages, then a call" && i >= 2 ? $"{response}-b" : response;
                    yield return Text(response, message, words[i]);
                }
            }

            if (calls)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call_1", "add", new Dictionary<string, object?> { ["a"] = 2, ["b"] = 3 })])
                {
                    ResponseId = response,
                    MessageId = response,
                };
                if (script == "text after the call")
                {
                    // The function-invoking client holds these back until the round ends.
                    yield return Text(response, response, "Adding");
                    yield return Text(response, response, " it");
                    yield return Text(response, response, " up.");
                }
            }

            yield return new ChatResponseUpdate { Role = ChatRole.Assistant, ResponseId = response, MessageId = response, FinishReason = calls ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop };
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 })])
            {
                ResponseId = response,
            };
        }

        private static ChatResponseUpdate Text(string response, string message, string text) => new(ChatRole.Assistant, [new TextContent(text)])
        {
            ResponseId = response,
            MessageId = message,
            ModelId = "gpt-4o-mini",
            CreatedAt = new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero),
        };

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }
}
