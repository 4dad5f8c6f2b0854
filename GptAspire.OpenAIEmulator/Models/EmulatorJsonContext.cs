using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GptAspire.OpenAIEmulator.Models;

/// <summary>
/// Source-generated serialization of the wire types. Every nullable property says whether a null is
/// written or left out, except <see cref="ChatCompletionChunk.Usage"/>, which follows the context:
/// <see cref="Wire"/> leaves it out, <see cref="WireWithNullUsage"/> writes <c>"usage": null</c> as
/// OpenAI does when the caller set <c>stream_options.include_usage</c>.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(AzureErrorResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(IReadOnlyList<RecordedRequest>))]
public sealed partial class EmulatorJsonContext : JsonSerializerContext
{
    public static EmulatorJsonContext Wire { get; } = new(WireOptions(JsonIgnoreCondition.WhenWritingNull));

    public static EmulatorJsonContext WireWithNullUsage { get; } = new(WireOptions(JsonIgnoreCondition.Never));

    // OpenAI writes ` + ' < > as they are; the default encoder would turn a code fence into \u0060\u0060\u0060.
    private static JsonSerializerOptions WireOptions(JsonIgnoreCondition ignoreCondition) => new()
    {
        DefaultIgnoreCondition = ignoreCondition,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
