using System.Text.Json.Serialization;

namespace GptAspire.OpenAIEmulator.Models;

/// <summary>Azure OpenAI's per-category content filter verdicts.</summary>
public sealed record ContentFilterResults
{
    [JsonPropertyName("hate")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FilterVerdict? Hate { get; init; }

    [JsonPropertyName("jailbreak")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DetectionVerdict? Jailbreak { get; init; }

    [JsonPropertyName("self_harm")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FilterVerdict? SelfHarm { get; init; }

    [JsonPropertyName("sexual")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FilterVerdict? Sexual { get; init; }

    [JsonPropertyName("violence")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public FilterVerdict? Violence { get; init; }

    /// <summary><c>{}</c>, as Azure sends on the role and finish chunks.</summary>
    public static ContentFilterResults None { get; } = new();

    public static ContentFilterResults Safe { get; } = new()
    {
        Hate = FilterVerdict.Safe,
        SelfHarm = FilterVerdict.Safe,
        Sexual = FilterVerdict.Safe,
        Violence = FilterVerdict.Safe,
    };

    public static ContentFilterResults SafePrompt { get; } = Safe with { Jailbreak = new DetectionVerdict(false, false) };

    public static ContentFilterResults FilteredViolence { get; } = Safe with { Violence = new FilterVerdict(true, "medium") };
}

public sealed record FilterVerdict(
    [property: JsonPropertyName("filtered")] bool Filtered,
    [property: JsonPropertyName("severity")] string Severity)
{
    public static FilterVerdict Safe { get; } = new(false, "safe");
}

public sealed record DetectionVerdict(
    [property: JsonPropertyName("filtered")] bool Filtered,
    [property: JsonPropertyName("detected")] bool Detected);

public sealed record PromptFilterResult(
    [property: JsonPropertyName("prompt_index")] int PromptIndex,
    [property: JsonPropertyName("content_filter_results")] ContentFilterResults ContentFilterResults);
