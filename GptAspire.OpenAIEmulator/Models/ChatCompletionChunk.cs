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
    // {"role":"assistant","content":"","refusal":null}, then {"content":"..."}, then {}.
    [JsonPropertyName("delta")]
    public required IReadOnlyDictionary<string, string?> Delta { get; init; }

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

    public static IReadOnlyDictionary<string, string?> RoleDelta { get; } =
        new Dictionary<string, string?> { ["role"] = "assistant", ["content"] = "", ["refusal"] = null };

    public static IReadOnlyDictionary<string, string?> EmptyDelta { get; } = new Dictionary<string, string?>();

    public static IReadOnlyDictionary<string, string?> ContentDelta(string text) =>
        new Dictionary<string, string?> { ["content"] = text };
}
