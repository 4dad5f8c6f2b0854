using GptAspire.OpenAIEmulator.Services;

namespace GptAspire.OpenAIEmulator.Extensions;

public static class EmulatorServiceExtensions
{
    /// <summary>
    /// Adds the emulator's options (from the <c>Emulator</c> section; the host refuses to start without
    /// <c>Emulator:ApiKey</c>), the tokenizer, the reply composer, the request log and the GenAI server metrics.
    /// </summary>
    public static IHostApplicationBuilder AddEmulatorServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<EmulatorOptions>()
            .BindConfiguration(EmulatorOptions.SectionName)
            .Validate(
                options => !string.IsNullOrWhiteSpace(options.ApiKey),
                "Emulator:ApiKey is not set. Set the key callers must send, e.g. the environment variable Emulator__ApiKey.")
            .Validate(
                options => options.TokenDelayMs >= 0,
                "Emulator:TokenDelayMs must be 0 or more.")
            .ValidateOnStart();

        builder.Services.AddSingleton(TimeProvider.System);
        // Loaded at start-up, not on the first chat: the first answer should not wait ~0.5 s for it.
        builder.Services.AddSingleton(new ChatTokenizer());
        builder.Services.AddSingleton<ReplyComposer>();
        builder.Services.AddSingleton<ToolCallPlanner>();
        builder.Services.AddSingleton<ConversationMemory>();
        builder.Services.AddSingleton<RequestLog>();
        builder.Services.AddSingleton<StreamPacer>();
        builder.Services.AddSingleton<EmulatorMetrics>();
        builder.Services.AddSingleton<ChatCompletionService>();

        return builder;
    }
}
