using System.Text.Json.Serialization;

namespace GptAspire.OpenAIEmulator.Models;

public sealed record ModelList([property: JsonPropertyName("data")] IReadOnlyList<ModelInfo> Data)
{
    [JsonPropertyName("object")]
    [JsonPropertyOrder(-1)]
    public string Object { get; init; } = "list";
}

public sealed record ModelInfo(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created"), JsonPropertyOrder(1)] long Created)
{
    [JsonPropertyName("object")]
    [JsonPropertyOrder(1)]
    public string Object { get; init; } = "model";

    [JsonPropertyName("owned_by")]
    [JsonPropertyOrder(2)]
    public string OwnedBy { get; init; } = "system";
}
