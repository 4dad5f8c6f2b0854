using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace GptAspire.OpenAIEmulator.Models;

/// <summary>One <c>data:</c> event of a streamed reply: the <c>chat.completion.chunk</c> object.</summary>
public sealed record ChatCompletionChunk
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("object")]
    public string Object { get; init; } = "chat.completion.chunk";

    [JsonPropertyName("created")]
    public required long Created { get; init; }

    [JsonPropertyName("model")]
    public required string Model { get; init; }

    [JsonPropertyName("system_fingerprint")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SystemFingerprint { get; init; }

    [JsonPropertyName("choices")]
    public required IReadOnlyList<ChunkChoice> Choices { get; init; }

    // OpenAI writes "usage": null on every other chunk only when the caller asked for usage, so this
    // property alone follows the serializer's default ignore condition (see EmulatorJsonContext).
    [JsonPropertyName("usage")]
    public ChatUsage? Usage { get; init; }

    // Azure only: the first chunk, before any choice.
    [JsonPropertyName("prompt_filter_results")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<PromptFilterResult>? PromptFilterResults { get; init; }
}

public sealed record ChunkChoice
{
    [JsonPropertyName("index")]
    public int Index { get; init; }

    // A dictionary because OpenAI's deltas differ in which keys are present and which are null:
    // {"role":"assistant","content":"","refusal":null}, then {"content":"..."}, then {}; JSON nodes because
    // a tool call's delta holds an array: {"tool_calls":[{"index":0,"function":{"arguments":"..."}}]}.
    [JsonPropertyName("delta")]
    public required IReadOnlyDictionary<string, JsonNode?> Delta { get; init; }

    [JsonPropertyName("logprobs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Logprobs { get; init; }

    [JsonPropertyName("finish_reason")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }

    // Azure only.
    [JsonPropertyName("content_filter_results")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ContentFilterResults? ContentFilterResults { get; init; }

    public static IReadOnlyDictionary<string, JsonNode?> RoleDelta { get; } =
        new Dictionary<string, JsonNode?> { ["role"] = "assistant", ["content"] = "", ["refusal"] = null };

    public static IReadOnlyDictionary<string, JsonNode?> EmptyDelta { get; } = new Dictionary<string, JsonNode?>();

    public static IReadOnlyDictionary<string, JsonNode?> ContentDelta(string text) =>
        new Dictionary<string, JsonNode?> { ["content"] = text };

    // A reply that calls tools starts with the role and the first call's id and name, its content null:
    // {"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_…","type":"function","function":{"name":"…","arguments":""}}],"refusal":null}.
    public static IReadOnlyDictionary<string, JsonNode?> ToolCallsStartDelta(int index, string id, string name) =>
        new Dictionary<string, JsonNode?> { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = ToolCallHeader(index, id, name), ["refusal"] = null };

    /// <summary>A further call's first chunk: <c>{"tool_calls":[{"index":1,"id":…,"type":"function","function":{"name":…,"arguments":""}}]}</c>.</summary>
    public static IReadOnlyDictionary<string, JsonNode?> ToolCallHeaderDelta(int index, string id, string name) =>
        new Dictionary<string, JsonNode?> { ["tool_calls"] = ToolCallHeader(index, id, name) };

    /// <summary>A fragment of a call's arguments: <c>{"tool_calls":[{"index":0,"function":{"arguments":"…"}}]}</c>.</summary>
    public static IReadOnlyDictionary<string, JsonNode?> ToolCallArgumentsDelta(int index, string fragment) =>
        new Dictionary<string, JsonNode?>
        {
            ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = index, ["function"] = new JsonObject { ["arguments"] = fragment } }),
        };

    private static JsonArray ToolCallHeader(int index, string id, string name) => new(new JsonObject
    {
        ["index"] = index,
        ["id"] = id,
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = name, ["arguments"] = "" },
    });
}
