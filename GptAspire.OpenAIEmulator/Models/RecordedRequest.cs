using System.Text.Json.Serialization;

namespace GptAspire.OpenAIEmulator.Models;

/// <summary>
/// What <c>GET /_emulator/requests</c> shows of one chat completions call: enough for a test to check
/// routing, tracing, scenarios and cancellation, and never a message or a key.
/// </summary>
public sealed record RecordedRequest
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary><c>openai</c>, <c>azure-v1</c> or <c>azure-deployment</c>.</summary>
    [JsonPropertyName("route")]
    public required string Route { get; init; }

    [JsonPropertyName("path")]
    public required string Path { get; init; }

    [JsonPropertyName("model")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Model { get; init; }

    [JsonPropertyName("stream")]
    public bool Stream { get; init; }

    [JsonPropertyName("traceparent")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Traceparent { get; init; }

    [JsonPropertyName("status")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public int? Status { get; init; }

    [JsonPropertyName("scenario")]
    public IReadOnlyList<string> Scenario { get; init; } = [];

    [JsonPropertyName("completionTokens")]
    public int CompletionTokens { get; init; }

    [JsonPropertyName("cancelled")]
    public bool Cancelled { get; init; }

    [JsonPropertyName("completed")]
    public bool Completed { get; init; }

    [JsonPropertyName("startedAt")]
    public DateTimeOffset StartedAt { get; init; }

    [JsonPropertyName("endedAt")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public DateTimeOffset? EndedAt { get; init; }
}
