using System.Text.Json;
using System.Text.Json.Serialization;

namespace GptAspire.OpenAIEmulator.Models;

/// <summary>The part of an OpenAI chat completions request body that the emulator reads.</summary>
public sealed record ChatCompletionRequest
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("messages")]
    public List<ChatMessage>? Messages { get; init; }

    [JsonPropertyName("stream")]
    public bool? Stream { get; init; }

    [JsonPropertyName("stream_options")]
    public StreamOptions? StreamOptions { get; init; }

    [JsonPropertyName("max_tokens")]
    public int? MaxTokens { get; init; }

    [JsonPropertyName("max_completion_tokens")]
    public int? MaxCompletionTokens { get; init; }

    [JsonPropertyName("temperature")]
    public double? Temperature { get; init; }

    [JsonPropertyName("seed")]
    public long? Seed { get; init; }

    [JsonPropertyName("tools")]
    public List<ChatTool>? Tools { get; init; }

    // "none", "auto", "required" or {"type":"function","function":{"name"}}: read by ToolRequestValidator.
    [JsonPropertyName("tool_choice")]
    public JsonElement? ToolChoice { get; init; }

    [JsonPropertyName("parallel_tool_calls")]
    public bool? ParallelToolCalls { get; init; }
}

public sealed record StreamOptions
{
    [JsonPropertyName("include_usage")]
    public bool? IncludeUsage { get; init; }
}

public sealed record ChatMessage
{
    [JsonPropertyName("role")]
    public string? Role { get; init; }

    // A string, an array of content parts, or null (an assistant message with tool calls).
    [JsonPropertyName("content")]
    public JsonElement? Content { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }

    /// <summary>An assistant message's calls (its content is then null or absent).</summary>
    [JsonPropertyName("tool_calls")]
    public List<ToolCall>? ToolCalls { get; init; }

    /// <summary>A <c>tool</c> message: the call it answers.</summary>
    [JsonPropertyName("tool_call_id")]
    public string? ToolCallId { get; init; }

    /// <summary>The message's text: the string content, or its text parts joined.</summary>
    public string Text()
    {
        if (Content is not { } content)
        {
            return "";
        }

        return content.ValueKind switch
        {
            JsonValueKind.String => content.GetString() ?? "",
            JsonValueKind.Array => string.Concat(content.EnumerateArray()
                .Where(part => part.ValueKind == JsonValueKind.Object
                    && part.TryGetProperty("type", out var type) && type.ValueEquals("text")
                    && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                .Select(part => part.GetProperty("text").GetString())),
            _ => "",
        };
    }
}
