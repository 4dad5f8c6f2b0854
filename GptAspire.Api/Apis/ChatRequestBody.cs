using System.Reflection;
using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Chat;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Apis;

/// <summary>
/// The JSON body of <c>POST /api/chat/stream</c>, bound by the framework through <see cref="BindAsync"/> and checked
/// by <see cref="ChatRequestValidationFilter"/>. Binding never throws: a wrong content type, an oversized body or
/// JSON of the wrong shape becomes <see cref="Problem"/>, which the filter answers with, naming the field.
/// </summary>
public sealed class ChatRequestBody : IEndpointParameterMetadataProvider
{
    private ChatRequestBody(ChatRequest? request, IResult? problem)
    {
        Request = request;
        Problem = problem;
    }

    /// <summary>The request as read; valid once the filter let it through.</summary>
    public ChatRequest? Request { get; }

    /// <summary>Why the body could not be read, as the response to send; null when it was read.</summary>
    public IResult? Problem { get; }

    public static async ValueTask<ChatRequestBody> BindAsync(HttpContext context, ParameterInfo parameter)
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return Refuse(TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type",
                detail: "Send the chat request as JSON with 'Content-Type: application/json'."));
        }

        // RFC 9110 allows the charset quoted: charset="UTF-8".
        if (request.GetTypedHeaders().ContentType?.Charset.Value?.Trim('"') is { Length: > 0 } charset
            && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return Refuse(TypedResults.Problem(
                statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type",
                detail: "Send the chat request as UTF-8 JSON."));
        }

        var limit = context.RequestServices.GetRequiredService<IOptions<ChatStreamOptions>>().Value.MaxRequestBodyBytes;
        if (request.ContentLength > limit)
        {
            return Refuse(BodyProblem($"The request body is larger than {limit} bytes."));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        var json = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        try
        {
            // The charset was checked above (UTF-8, quoted or not): read the body as UTF-8 JSON.
            var chat = await JsonSerializer.DeserializeAsync<ChatRequest>(request.Body, json, context.RequestAborted);
            return new ChatRequestBody(chat, null);
        }
        catch (JsonException e)
        {
            var field = JsonPathToField(e.Path);
            return Refuse(TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                [field] = [field == "body" ? "The request body must be a JSON object with a 'messages' array." : $"'{field}' has the wrong JSON type or format."],
            }));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Refuse(BodyProblem($"The request body is larger than {limit} bytes."));
        }
    }

    private static ChatRequestBody Refuse(IResult problem) => new(null, problem);

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

    static void IEndpointParameterMetadataProvider.PopulateMetadata(ParameterInfo parameter, EndpointBuilder builder)
    {
        builder.Metadata.Add(new AcceptsMetadata(["application/json"], typeof(ChatRequest)));
    }
}

/// <summary>
/// The one place where a chat request is refused before any work: the body's binding problem, or its fields
/// (<see cref="ChatRequestValidator"/>), as <c>400 application/problem+json</c> naming each bad field.
/// </summary>
public sealed class ChatRequestValidationFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var body = context.Arguments.OfType<ChatRequestBody>().Single();
        if (body.Problem is { } problem)
        {
            return problem;
        }

        var errors = context.HttpContext.RequestServices.GetRequiredService<ChatLimits>().Validate(body.Request);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await next(context);
    }
}
