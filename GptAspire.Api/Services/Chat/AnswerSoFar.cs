using System.Text;
using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Streams;
using GptAspire.Api.Services.Tools;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Chat;

/// <summary>
/// What a stream holds of its answer, read back from its events for a replica that continues it: the assistant's
/// text, its tool calls and their results, as the messages the model wrote and read (an assistant message with its
/// text and calls, a tool message with the results, then the text after them), so that the model is asked again with
/// exactly the conversation it had. Calls with no result yet are listed apart: the continuing replica runs them.
/// </summary>
public sealed class AnswerSoFar
{
    private AnswerSoFar(List<ChatMessage> messages, string text, string trailingText, List<FunctionCallContent> unanswered, int rounds)
    {
        Messages = messages;
        Text = text;
        TrailingText = trailingText;
        Unanswered = unanswered;
        Rounds = rounds;
    }

    /// <summary>The answer's messages so far, to follow the request's; the last is the trailing text, if any.</summary>
    public List<ChatMessage> Messages { get; }

    /// <summary>All the answer's text so far.</summary>
    public string Text { get; }

    /// <summary>The text after the last tool event: what the model continues.</summary>
    public string TrailingText { get; }

    /// <summary>Calls whose <c>tool_result</c> is not in the stream: they had not ended when the owner stopped.</summary>
    public List<FunctionCallContent> Unanswered { get; }

    /// <summary>Rounds of tool calls made so far.</summary>
    public int Rounds { get; }

    public static AnswerSoFar Read(ChatStreamBuffer stream, JsonSerializerOptions json)
    {
        var frames = new List<ReadOnlyMemory<byte>>();
        stream.CopyFrames(0, int.MaxValue, long.MaxValue, frames);

        var messages = new List<ChatMessage>();
        var all = new StringBuilder();
        var text = new StringBuilder();
        var pending = new Dictionary<string, FunctionCallContent>(StringComparer.Ordinal);
        ChatMessage? calls = null, results = null;
        var rounds = 0;
        foreach (var frame in frames)
        {
            var name = ChatStreamEvent.NameOf(frame.Span);
            var data = ChatStreamEvent.Data(frame.Span);
            switch (name)
            {
                case ChatEventNames.Token:
                    var token = JsonSerializer.Deserialize<TokenEvent>(data, json)!.Text;
                    text.Append(token);
                    all.Append(token);
                    results = null;
                    break;

                case ChatEventNames.ToolCall:
                    var call = JsonSerializer.Deserialize<ToolCallEvent>(data, json)!;
                    if (calls is null || results is not null || text.Length > 0)
                    {
                        // A new round: the text before it and its calls are one assistant message, as the model sent them.
                        calls = new ChatMessage(ChatRole.Assistant, text.Length > 0 ? [new TextContent(text.ToString())] : []);
                        messages.Add(calls);
                        text.Clear();
                        results = null;
                        rounds++;
                    }

                    var content = new FunctionCallContent(call.CallId, call.Name, ArgumentsOf(call.Arguments));
                    calls.Contents.Add(content);
                    pending[call.CallId] = content;
                    break;

                case ChatEventNames.ToolResult:
                    var result = JsonSerializer.Deserialize<ToolResultEvent>(data, json)!;
                    if (results is null)
                    {
                        results = new ChatMessage(ChatRole.Tool, []);
                        messages.Add(results);
                    }

                    results.Contents.Add(new ToolOutcome(result.Result, result.Error, result.DurationMs).ToContent(result.CallId));
                    pending.Remove(result.CallId);
                    break;
            }
        }

        if (text.Length > 0)
        {
            messages.Add(new ChatMessage(ChatRole.Assistant, text.ToString()));
        }

        return new AnswerSoFar(messages, all.ToString(), text.ToString(), [.. pending.Values], rounds);
    }

    // The arguments as the model client parses them: a dictionary of JSON values (null when they were not JSON).
    private static Dictionary<string, object?>? ArgumentsOf(JsonElement? arguments) =>
        arguments is { ValueKind: JsonValueKind.Object } element
            ? element.EnumerateObject().ToDictionary(property => property.Name, property => (object?)property.Value.Clone())
            : null;
}
