namespace GptAspire.OpenAIEmulator.Services;

/// <summary>Which of the three URL styles a request came in on; Azure's two add content filter results.</summary>
public enum ChatRoute
{
    OpenAI,
    AzureV1,
    AzureDeployment,
}

public static class ChatRouteExtensions
{
    public static bool IsAzure(this ChatRoute route) => route is ChatRoute.AzureV1 or ChatRoute.AzureDeployment;

    /// <summary>The GenAI conventions' <c>gen_ai.provider.name</c> of the service the route emulates.</summary>
    public static string ProviderName(this ChatRoute route) => route.IsAzure() ? "azure.ai.openai" : "openai";

    /// <summary>The name shown in <c>/_emulator/requests</c>.</summary>
    public static string Name(this ChatRoute route) => route switch
    {
        ChatRoute.OpenAI => "openai",
        ChatRoute.AzureV1 => "azure-v1",
        ChatRoute.AzureDeployment => "azure-deployment",
        _ => throw new ArgumentOutOfRangeException(nameof(route)),
    };
}
