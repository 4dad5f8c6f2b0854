namespace GptAspire.Api.Services.Chat;

/// <summary>What the API knows of the model it talks to.</summary>
/// <param name="Model">The model (or Azure deployment) name shown to users.</param>
/// <param name="ContextWindow">Tokens the model can see at once: the prompt plus the answer.</param>
/// <param name="UsingEmulator">Whether the local OpenAI emulator answers instead of a real service.</param>
public sealed record ChatModelInfo(string Model, int ContextWindow, bool UsingEmulator);

/// <summary>Context windows of the common OpenAI models, by longest matching name prefix.</summary>
public static class ModelCatalog
{
    public const int DefaultContextWindow = 128_000;

    // Sorted longest prefix first, so that "gpt-4o" does not fall back to "gpt-4".
    private static readonly (string Prefix, int ContextWindow)[] Windows = new (string Prefix, int ContextWindow)[]
    {
        ("gpt-4.1", 1_047_576),
        ("gpt-4o", 128_000),
        ("gpt-4-turbo", 128_000),
        ("gpt-4-32k", 32_768),
        ("gpt-4", 8_192),
        ("gpt-35-turbo", 16_385),
        ("gpt-3.5-turbo", 16_385),
        ("gpt-5", 400_000),
        ("o1", 200_000),
        ("o3", 200_000),
        ("o4", 200_000),
    }.OrderByDescending(w => w.Prefix.Length).ToArray();

    /// <summary>The context window of <paramref name="model"/>, or <see cref="DefaultContextWindow"/> when unknown.</summary>
    public static int ContextWindowFor(string model)
    {
        foreach (var (prefix, window) in Windows)
        {
            if (model.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return window;
            }
        }

        return DefaultContextWindow;
    }
}
