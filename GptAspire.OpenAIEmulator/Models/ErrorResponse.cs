using System.Text.Json.Serialization;

namespace GptAspire.OpenAIEmulator.Models;

/// <summary>OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c>, plus Azure's extras.</summary>
public sealed record ErrorResponse([property: JsonPropertyName("error")] ErrorDetail Error);

public sealed record ErrorDetail
{
    [JsonPropertyName("message")]
    public required string Message { get; init; }

    [JsonPropertyName("type")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Type { get; init; }

    [JsonPropertyName("param")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }

    [JsonPropertyName("code")]
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }

    // Azure only.
    [JsonPropertyName("status")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Status { get; init; }

    // Azure only.
    [JsonPropertyName("innererror")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public InnerError? InnerError { get; init; }
}

public sealed record InnerError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("content_filter_result")] ContentFilterResults ContentFilterResult);

/// <summary>The error body of Azure's front door, which has no type or param (e.g. a missing api-version).</summary>
public sealed record AzureErrorResponse([property: JsonPropertyName("error")] AzureErrorDetail Error);

public sealed record AzureErrorDetail(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);
