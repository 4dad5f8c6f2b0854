using System.Text.Json;
using System.Text.Json.Serialization;

namespace GptAspire.Api.Models;

/// <summary>
/// Source-generated serialization of the stream's event data, with the web defaults the API's JSON options have.
/// The app puts it first in those options' resolvers, so the frame writer serializes without reflection metadata.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(StartEvent))]
[JsonSerializable(typeof(TokenEvent))]
[JsonSerializable(typeof(ToolCallEvent))]
[JsonSerializable(typeof(ToolResultEvent))]
[JsonSerializable(typeof(UsageEvent))]
[JsonSerializable(typeof(FinishEvent))]
[JsonSerializable(typeof(ErrorEvent))]
public sealed partial class ChatJsonContext : JsonSerializerContext;
