using System.Text.Json;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// How one tool call ended: its result as JSON, or an error in words, and how long it ran. A call never throws into
/// the answer: bad arguments, an unknown tool, a tool that fails or runs too long all end here as an error, which the
/// model reads (as <c>{"error": "..."}</c>) and the page shows.
/// </summary>
public sealed record ToolOutcome(JsonElement? Result, string? Error, long DurationMs)
{
    // The outcome rides on the result content it made, for the stream's tool_result event.
    private const string OutcomeKey = "gptaspire.tool.outcome";

    public static ToolOutcome Succeeded(JsonElement result, long durationMs) => new(result, null, durationMs);

    public static ToolOutcome Failed(string error, long durationMs) => new(null, error, durationMs);

    /// <summary>The result message content the model reads: the result, or <c>{"error": "..."}</c>.</summary>
    public FunctionResultContent ToContent(string callId) =>
        new(callId, Error is null ? Result : JsonSerializer.SerializeToElement(new ToolError(Error), ToolJson.Options))
        {
            AdditionalProperties = new() { [OutcomeKey] = this },
        };

    /// <summary>The outcome a result content was made from; null for one that did not come from this API.</summary>
    public static ToolOutcome? Of(FunctionResultContent content) =>
        content.AdditionalProperties?.TryGetValue(OutcomeKey, out var outcome) == true ? outcome as ToolOutcome : null;

    private sealed record ToolError(string Error);
}

/// <summary>The JSON options of tool arguments and results: Microsoft.Extensions.AI's, as the tools themselves use.</summary>
public static class ToolJson
{
    public static JsonSerializerOptions Options => AIJsonUtilities.DefaultOptions;
}
