using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using GptAspire.Api.Models;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace GptAspire.Api.Apis;

/// <summary>
/// Puts the stream's contract into the OpenAPI document: the <c>200 text/event-stream</c> answer of every stream
/// endpoint is a sequence of <c>ChatStreamEvent</c>s, one schema per event name with its <c>data</c>, and the
/// <c>reason</c> of <c>finish</c> and the <c>code</c> of <c>error</c> list their values. The page's TypeScript
/// types are tested against this document, so the names and payloads have one home per language.
/// </summary>
public sealed class ChatStreamOpenApi : IOpenApiDocumentTransformer
{
    /// <summary>The component that describes one event of a stream.</summary>
    public const string EventSchemaName = "ChatStreamEvent";

    private static readonly (string Name, Type Data, string When)[] Events =
    [
        (ChatEventNames.Start, typeof(StartEvent), "First: who answers, the token budget, the heartbeat interval."),
        (ChatEventNames.Token, typeof(TokenEvent), "Each content delta, flushed at once."),
        (ChatEventNames.ToolCall, typeof(ToolCallEvent), "The model calls a tool (arguments complete); the tool starts running."),
        (ChatEventNames.ToolResult, typeof(ToolResultEvent), "A tool call ended: its result or an error, and how long it ran."),
        (ChatEventNames.Usage, typeof(UsageEvent), "After the last token."),
        (ChatEventNames.Finish, typeof(FinishEvent), "Last, on success (or after a stop)."),
        (ChatEventNames.Error, typeof(ErrorEvent), "Last, on failure."),
    ];

    /// <summary>Adds the transformer to an OpenAPI document's options.</summary>
    public static void Describe(OpenApiOptions options) => options.AddDocumentTransformer<ChatStreamOpenApi>();

    public async Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var streams = (document.Paths ?? [])
            .SelectMany(path => path.Value.Operations ?? [])
            .Select(operation => operation.Value.Responses?.GetValueOrDefault("200"))
            .Where(response => response?.Content?.ContainsKey(ChatStreamResult.EventStreamContentType) == true)
            .ToList();
        if (streams.Count == 0)
        {
            return;
        }

        var variants = new List<IOpenApiSchema>();
        foreach (var (name, dataType, when) in Events)
        {
            var data = await context.GetOrCreateSchemaAsync(dataType, null, cancellationToken);
            Refine(data, dataType);
            document.AddComponent<IOpenApiSchema>(dataType.Name, data);
            variants.Add(new OpenApiSchema
            {
                Title = name,
                Description = when,
                Type = JsonSchemaType.Object,
                Required = new HashSet<string> { "event", "id", "data" },
                Properties = new Dictionary<string, IOpenApiSchema>
                {
                    ["event"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create(name)] },
                    ["id"] = new OpenApiSchema
                    {
                        Type = JsonSchemaType.String,
                        Pattern = "^[0-9]+$",
                        Description = "The event's position in the stream (0, 1, 2, ...): what Last-Event-ID resumes after.",
                    },
                    ["data"] = new OpenApiSchemaReference(dataType.Name, document),
                },
            });
        }

        document.AddComponent<IOpenApiSchema>(EventSchemaName, new OpenApiSchema
        {
            Description = "One server-sent event of a chat stream (event, id and one line of JSON data). Order: start, then "
                + "token, tool_call and tool_result in the order they happen (each call's tool_result after its tool_call), "
                + "usage, finish | error; exactly one finish or error, last. A ': ping' comment line is sent after each "
                + "heartbeat interval of silence.",
            OneOf = variants,
        });

        foreach (var response in streams)
        {
            response!.Description = "The answer as named server-sent events.";
            response.Content![ChatStreamResult.EventStreamContentType].Schema = new OpenApiSchemaReference(EventSchemaName, document);
        }
    }

    // A field left out when null is not required; the values a string field can have are the constants of its
    // class: one list, in C#, for the API and the document.
    private static void Refine(IOpenApiSchema schema, Type dataType)
    {
        if (schema is not OpenApiSchema { Properties: { } properties } data)
        {
            return;
        }

        foreach (var property in dataType.GetProperties())
        {
            var propertyName = JsonNamingPolicy.CamelCase.ConvertName(property.Name);
            var omittedWhenNull = property.GetCustomAttribute<JsonIgnoreAttribute>()?.Condition == JsonIgnoreCondition.WhenWritingNull;
            if (omittedWhenNull)
            {
                // Left out rather than sent as null: not required, and never null when present.
                data.Required?.Remove(propertyName);
            }

            if (!properties.TryGetValue(propertyName, out var propertySchema) || propertySchema is not OpenApiSchema member)
            {
                continue;
            }

            if (omittedWhenNull && member.Type is { } type)
            {
                member.Type = type & ~JsonSchemaType.Null;
            }

            if (property.PropertyType == typeof(System.Text.Json.JsonElement?))
            {
                // Any JSON value: the arguments are an object (null when the model's were not a JSON object), a result anything.
                member.Type = omittedWhenNull ? null : JsonSchemaType.Object | JsonSchemaType.Null;
            }
        }

        var (name, values) = dataType == typeof(FinishEvent) ? ("reason", typeof(FinishReasons))
            : dataType == typeof(ErrorEvent) ? ("code", typeof(ChatErrorCodes))
            : (null, null);
        if (name is not null && properties.TryGetValue(name, out var found) && found is OpenApiSchema field)
        {
            field.Enum = [.. values!.GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral && f.FieldType == typeof(string))
                .Select(f => (JsonNode)JsonValue.Create((string)f.GetRawConstantValue()!))];
        }
    }
}
