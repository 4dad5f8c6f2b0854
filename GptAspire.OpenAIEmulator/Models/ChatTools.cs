using System.Text.Json;
using System.Text.Json.Serialization;

namespace GptAspire.OpenAIEmulator.Models;

/// <summary>One entry of a request's <c>tools</c>: <c>{"type":"function","function":{name, description, parameters, strict}}</c>.</summary>
public sealed record ChatTool
{
    [JsonPropertyName("type")]
    public string? Type { get; init; }

    [JsonPropertyName("function")]
    public FunctionDefinition? Function { get; init; }
}

public sealed record FunctionDefinition
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("description")]
    public string? Description { get; init; }

    // A JSON schema the emulator does not check arguments against (a model does not either, unless strict).
    [JsonPropertyName("parameters")]
    public JsonElement? Parameters { get; init; }

    [JsonPropertyName("strict")]
    public bool? Strict { get; init; }
}

/// <summary>
/// A function call, as an assistant message of the request carries it and as a whole reply returns it:
/// <c>{"id":"call_…","type":"function","function":{"name","arguments"}}</c>; the arguments are JSON text.
/// </summary>
public sealed record ToolCall
{
    [JsonPropertyName("id")]
    public string? Id { get; init; }

    [JsonPropertyName("type")]
    public string? Type { get; init; } = "function";

    [JsonPropertyName("function")]
    public FunctionCall? Function { get; init; }
}

public sealed record FunctionCall
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("arguments")]
    public string? Arguments { get; init; }
}
