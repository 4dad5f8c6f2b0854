using GptAspire.OpenAIEmulator.Services;

namespace GptAspire.OpenAIEmulator.Apis;

public static class EmulatorEndpointConventions
{
    /// <summary>Records the calls of these endpoints in <c>/_emulator/requests</c> under <paramref name="route"/>'s name.</summary>
    public static TBuilder RecordedAs<TBuilder>(this TBuilder builder, ChatRoute route) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(new RequestRecordingFilter(route));

    /// <summary>Requires the configured API key, as <c>Authorization: Bearer</c> or <c>api-key</c>.</summary>
    public static TBuilder RequireEmulatorApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter<TBuilder, ApiKeyFilter>();
}
