using System.Net.ServerSentEvents;
using System.Text.Json;
using GptAspire.Api.Extensions;
using GptAspire.Api.Models;
using GptAspire.Api.Services;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Apis;

public static class ChatApi
{
    /// <summary>Maps <c>POST /api/chat/stream</c> (the SSE stream) and <c>GET /api/info</c>.</summary>
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Chat");

        api.MapPost("/chat/stream", StreamChat)
            .WithName("StreamChat")
            .WithSummary("Streams a chat answer as named server-sent events: start, token*, usage, finish | error.")
            .Accepts<ChatRequest>("application/json")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .RequireRateLimiting(ClientLimitsExtensions.ChatPolicy);

        api.MapGet("/info", GetInfo)
            .WithName("GetInfo")
            .WithSummary("The model, its context window, whether the local emulator answers, and the server's token limits.");

        return app;
    }

    public static Ok<ChatInfo> GetInfo(ChatModelInfo model, ChatLimits limits) =>
        TypedResults.Ok(new ChatInfo(
            model.Model, model.ContextWindow, model.UsingEmulator, limits.MaxPromptTokens, limits.DefaultMaxTokens, limits.MaxOutputTokens));

    public static async Task<Results<ServerSentEventsWithHeartbeatResult<object>, ValidationProblem, ProblemHttpResult>> StreamChat(
        HttpContext context,
        ChatStreamService chat,
        ChatLimits limits,
        IOptions<ChatStreamOptions> options,
        IOptions<JsonOptions> json)
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type",
                detail: "Send the chat request as JSON with 'Content-Type: application/json'.");
        }

        if (request.GetTypedHeaders().ContentType?.Charset is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type",
                detail: "Send the chat request as UTF-8 JSON.");
        }

        var limit = options.Value.MaxRequestBodyBytes;
        if (request.ContentLength > limit)
        {
            return BodyProblem($"The request body is larger than {limit} bytes.");
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        ChatRequest? chatRequest;
        try
        {
            chatRequest = await request.ReadFromJsonAsync<ChatRequest>(json.Value.SerializerOptions, context.RequestAborted);
        }
        catch (JsonException e)
        {
            var field = JsonPathToField(e.Path);
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [field] = [field == "body" ? "The request body must be a JSON object with a 'messages' array." : $"'{field}' has the wrong JSON type or format."],
            });
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return BodyProblem($"The request body is larger than {limit} bytes.");
        }

        var errors = limits.Validate(chatRequest);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        errors = limits.ValidatePrompt(chatRequest!, out var promptTokens);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return new ServerSentEventsWithHeartbeatResult<object>(
            chat.StreamAsync(chatRequest! with { MaxTokens = limits.EffectiveMaxTokens(chatRequest, promptTokens) }, promptTokens, context.RequestAborted),
            options.Value.HeartbeatInterval);
    }

    private static ValidationProblem BodyProblem(string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = [message] });

    // "$.messages[0].content" -> "messages[0].content"; "$" or nothing -> "body".
    internal static string JsonPathToField(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }
}
