using System.Text.Json;
using GptAspire.OpenAIEmulator.Models;
using GptAspire.OpenAIEmulator.Services;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace GptAspire.OpenAIEmulator.Apis;

public static class ChatCompletionsApi
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool", "function"];

    /// <summary>
    /// Maps chat completions and the model list in the three URL styles: OpenAI's <c>/v1</c>, Azure's
    /// <c>/openai/v1</c> and Azure's classic <c>/openai/deployments/{deployment}?api-version=</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapChatCompletionsApi(this IEndpointRouteBuilder app)
    {
        // Recording comes first so that refused calls (401) are in the request log too.
        app.MapPost("/v1/chat/completions", CreateOpenAIChatCompletion)
            .RecordedAs(ChatRoute.OpenAI).RequireEmulatorApiKey();
        app.MapPost("/openai/v1/chat/completions", CreateAzureV1ChatCompletion)
            .RecordedAs(ChatRoute.AzureV1).RequireEmulatorApiKey();
        app.MapPost("/openai/deployments/{deployment}/chat/completions", CreateAzureDeploymentChatCompletion)
            .RecordedAs(ChatRoute.AzureDeployment).RequireEmulatorApiKey();

        app.MapGet("/v1/models", ListModels).RequireEmulatorApiKey();
        app.MapGet("/openai/v1/models", ListModels).RequireEmulatorApiKey();

        return app;
    }

    public static Task<IResult> CreateOpenAIChatCompletion(HttpContext httpContext, ChatCompletionService chat) =>
        CreateChatCompletion(httpContext, chat, ChatRoute.OpenAI, deployment: null);

    public static Task<IResult> CreateAzureV1ChatCompletion(HttpContext httpContext, ChatCompletionService chat) =>
        CreateChatCompletion(httpContext, chat, ChatRoute.AzureV1, deployment: null);

    public static Task<IResult> CreateAzureDeploymentChatCompletion(
        string deployment,
        [FromQuery(Name = "api-version")] string? apiVersion,
        HttpContext httpContext,
        ChatCompletionService chat) =>
        string.IsNullOrWhiteSpace(apiVersion)
            ? Task.FromResult(EmulatorErrors.MissingApiVersion())
            : CreateChatCompletion(httpContext, chat, ChatRoute.AzureDeployment, deployment);

    public static JsonHttpResult<ModelList> ListModels() =>
        TypedResults.Json(ModelCatalog.Models, EmulatorJsonContext.Wire.ModelList);

    private static async Task<IResult> CreateChatCompletion(HttpContext httpContext, ChatCompletionService chat, ChatRoute route, string? deployment)
    {
        // Read by hand rather than bound, so that a bad body gets OpenAI's error shape, not ProblemDetails.
        ChatCompletionRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(
                httpContext.Request.Body, EmulatorJsonContext.Wire.ChatCompletionRequest, httpContext.RequestAborted);
        }
        catch (JsonException)
        {
            return EmulatorErrors.InvalidJson();
        }

        if (request is null)
        {
            return EmulatorErrors.InvalidJson();
        }

        if (Validate(request, deployment) is { } invalid)
        {
            return invalid;
        }

        // The classic Azure route names the deployment in the path; the body's model is optional there.
        var model = request.Model is { Length: > 0 } named ? named : deployment!;
        var scenario = Scenario.Parse(request.Messages!.LastOrDefault(message => message.Role == "user")?.Text());
        var entry = httpContext.Features.GetRequiredFeature<RequestLogEntry>();
        entry.Describe(model, request.Stream == true, scenario);

        return chat.Respond(request, model, route, scenario, entry);
    }

    private static IResult? Validate(ChatCompletionRequest request, string? deployment)
    {
        if (request.Messages is not { } messages)
        {
            return EmulatorErrors.MissingParameter("messages");
        }

        if (messages.Count == 0)
        {
            return EmulatorErrors.EmptyArray("messages");
        }

        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not { Role: { } role })
            {
                return EmulatorErrors.MissingParameter($"messages[{i}].role");
            }

            if (!Roles.Contains(role))
            {
                return EmulatorErrors.InvalidRole($"messages[{i}].role", role);
            }
        }

        if (string.IsNullOrEmpty(request.Model) && deployment is null)
        {
            return EmulatorErrors.MissingParameter("model");
        }

        if (request.MaxTokens is < 1)
        {
            return EmulatorErrors.BelowMinimum("max_tokens", request.MaxTokens.Value);
        }

        if (request.MaxCompletionTokens is < 1)
        {
            return EmulatorErrors.BelowMinimum("max_completion_tokens", request.MaxCompletionTokens.Value);
        }

        return ToolRequestValidator.Validate(request);
    }
}
