using GptAspire.OpenAIEmulator.Models;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>What <c>GET /v1/models</c> lists. Chat completions accept any model name, as a deployment would.</summary>
public static class ModelCatalog
{
    public static ModelList Models { get; } = new(
    [
        new ModelInfo("gpt-4o-mini", 1721172741),
        new ModelInfo("gpt-4o", 1715367049),
        new ModelInfo("gpt-4.1", 1744316542),
        new ModelInfo("gpt-4.1-mini", 1744318173),
        new ModelInfo("gpt-4.1-nano", 1744321707),
    ]);
}
