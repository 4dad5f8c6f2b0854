using System.Globalization;
using System.Text.Json.Nodes;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Chat;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace GptAspire.Api.Apis;

/// <summary>
/// Describes the body of <c>POST /api/chat/stream</c> as the server checks it: the types, the roles, the ranges
/// (read from the configured limits when the document is made, as <c>GET /api/info</c> serves them) and an example
/// that the API accepts, so that the request an API reference generates from the document gets an answer.
/// </summary>
public sealed class ChatRequestOpenApi(ChatLimits limits) : IOpenApiSchemaTransformer
{
    /// <summary>Adds the transformer to an OpenAPI document's options.</summary>
    public static void Describe(OpenApiOptions options) => options.AddSchemaTransformer<ChatRequestOpenApi>();

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        // Only the component schemas: a property's own schema is described by its parent's properties below.
        if (context.JsonPropertyInfo is not null)
        {
            return Task.CompletedTask;
        }

        if (context.JsonTypeInfo.Type == typeof(ChatRequest))
        {
            DescribeRequest(schema);
        }
        else if (context.JsonTypeInfo.Type == typeof(ChatRequestMessage))
        {
            DescribeMessage(schema);
        }

        return Task.CompletedTask;
    }

    // An answer's length the server accepts however low Chat:MaxOutputTokens is set.
    private int ExampleMaxTokens => Math.Min(500, limits.MaxOutputTokens);

    private void DescribeRequest(OpenApiSchema schema)
    {
        schema.Description = "The conversation to answer, and optionally the answer's length and sampling temperature.";
        schema.Examples = [new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tell me about the sea." }),
            ["maxTokens"] = ExampleMaxTokens,
            ["temperature"] = 0.7,
        }];

        var properties = schema.Properties!;
        Property(properties, "messages", messages =>
        {
            messages.Type = JsonSchemaType.Array;
            messages.MinItems = 1;
            messages.MaxItems = ChatRequestValidator.MaxMessages;
            messages.Description = $"The conversation so far, oldest first: 1 to {ChatRequestValidator.MaxMessages} messages, "
                + "the last one not from the assistant (usually the user's question).";
        });
        Property(properties, "maxTokens", maxTokens =>
        {
            // Optional: a request leaves it out for the server's default, so the document does not offer null.
            maxTokens.Type = JsonSchemaType.Integer;
            maxTokens.Minimum = "1";
            maxTokens.Maximum = limits.MaxOutputTokens.ToString(CultureInfo.InvariantCulture);
            maxTokens.Examples = [ExampleMaxTokens];
            maxTokens.Description = $"The most tokens the answer may have, 1 to {limits.MaxOutputTokens} (Chat:MaxOutputTokens). "
                + $"When absent, {limits.DefaultMaxTokens} (Chat:DefaultMaxTokens) within what the context window leaves after the conversation.";
        });
        Property(properties, "temperature", temperature =>
        {
            temperature.Type = JsonSchemaType.Number;
            temperature.Minimum = "0";
            temperature.Maximum = ChatRequestValidator.MaxTemperature.ToString(CultureInfo.InvariantCulture);
            temperature.Examples = [0.7];
            temperature.Description = $"Sampling temperature, 0 to {ChatRequestValidator.MaxTemperature}: 0 answers alike every time, "
                + "higher varies the answer. The model's default when absent.";
        });
    }

    private static void DescribeMessage(OpenApiSchema schema)
    {
        schema.Description = "One message of the conversation.";
        var properties = schema.Properties!;
        Property(properties, "role", role =>
        {
            role.Type = JsonSchemaType.String;
            role.Enum = [.. ChatRequestValidator.Roles.Select(r => (JsonNode)JsonValue.Create(r))];
            role.Examples = ["user"];
            role.Description = "Who wrote the message: system (instructions, usually first), user or assistant (an earlier answer).";
        });
        Property(properties, "content", content =>
        {
            content.Type = JsonSchemaType.String;
            content.MinLength = 1;
            content.Pattern = @"\S";
            content.Examples = ["Tell me about the sea."];
            content.Description = "The text of the message; not blank.";
        });
    }

    private static void Property(IDictionary<string, IOpenApiSchema> properties, string name, Action<OpenApiSchema> describe)
    {
        if (properties.TryGetValue(name, out var property) && property is OpenApiSchema schema)
        {
            describe(schema);
        }
    }
}
