namespace GptAspire.OpenAIEmulator.Services;

/// <summary>The <c>Emulator</c> configuration section.</summary>
public sealed class EmulatorOptions
{
    public const string SectionName = "Emulator";

    /// <summary>The key callers must send as <c>Authorization: Bearer</c> or <c>api-key</c>. Required.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Pause before each streamed token, unless a <c>[emulator:delay=MS]</c> directive says otherwise.</summary>
    public int TokenDelayMs { get; set; } = 20;
}
