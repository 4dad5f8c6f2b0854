using System.Text.Json;
using System.Text.Json.Nodes;

namespace GptAspire.OpenAIEmulator.Tests.Infrastructure;

/// <summary>Requests that offer the app's two tools, and the calls a streamed reply makes, reassembled from its chunks.</summary>
public static class ToolChat
{
    public static JsonArray Tools() =>
    [
        new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject
            {
                ["name"] = "get_current_time",
                ["description"] = "The current local time in an IANA time zone.",
                ["parameters"] = JsonNode.Parse("""{"type":"object","properties":{"timeZone":{"type":"string"}},"required":["timeZone"]}"""),
            },
        },
        new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject
            {
                ["name"] = "calculate",
                ["description"] = "Evaluates an arithmetic expression.",
                ["parameters"] = JsonNode.Parse("""{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}"""),
            },
        },
    ];

    public static JsonObject Body(string prompt, bool stream = false) => WithTools(Chat.Body(prompt, stream: stream, includeUsage: stream));

    public static JsonObject WithTools(JsonObject body)
    {
        body["tools"] = Tools();
        return body;
    }

    /// <summary>The conversation so far, then the assistant's calls and one <c>tool</c> message per result.</summary>
    public static JsonObject AfterResults(string prompt, IReadOnlyList<(string Id, string Name, string Arguments, string Result)> calls, bool stream = false)
    {
        var body = Body(prompt, stream);
        var messages = body["messages"]!.AsArray();
        messages.Add(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["tool_calls"] = new JsonArray([.. calls.Select(call => (JsonNode)new JsonObject
            {
                ["id"] = call.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.Arguments },
            })]),
        });
        foreach (var call in calls)
        {
            messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = call.Id, ["content"] = call.Result });
        }

        return body;
    }

    /// <summary>The calls of a non-streamed reply: id, name, arguments.</summary>
    public static IReadOnlyList<(string Id, string Name, string Arguments)> Calls(JsonElement completion) =>
    [
        .. completion.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls").EnumerateArray().Select(call => (
            call.GetProperty("id").GetString()!,
            call.GetProperty("function").GetProperty("name").GetString()!,
            call.GetProperty("function").GetProperty("arguments").GetString()!)),
    ];

    /// <summary>The calls of a streamed reply, put together from their fragments by index, as the SDKs do.</summary>
    public static IReadOnlyList<(string Id, string Name, string Arguments)> Calls(IEnumerable<JsonElement> chunks)
    {
        var calls = new SortedDictionary<int, (string Id, string Name, string Arguments)>();
        foreach (var delta in chunks.SelectMany(chunk => chunk.GetProperty("choices").EnumerateArray()).Select(choice => choice.GetProperty("delta")))
        {
            if (!delta.TryGetProperty("tool_calls", out var toolCalls))
            {
                continue;
            }

            foreach (var call in toolCalls.EnumerateArray())
            {
                var index = call.GetProperty("index").GetInt32();
                var (id, name, arguments) = calls.GetValueOrDefault(index, ("", "", ""));
                if (call.TryGetProperty("id", out var newId))
                {
                    (id, name) = (newId.GetString()!, call.GetProperty("function").GetProperty("name").GetString()!);
                }

                calls[index] = (id, name, arguments + call.GetProperty("function").GetProperty("arguments").GetString());
            }
        }

        return [.. calls.Values];
    }

    public static JsonElement Choice(JsonElement chunk) => chunk.GetProperty("choices")[0];
}
