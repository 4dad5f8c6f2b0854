using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// Runs one tool call to a <see cref="ToolOutcome"/>: checks the arguments parsed, bounds the run by
/// <c>Chat:Tools:Timeout</c>, and turns every failure into an error the model can read. Only a stop of the answer
/// (<paramref name="cancellationToken"/> of <see cref="RunAsync"/>) escapes, as a cancellation.
/// </summary>
public sealed partial class ToolRunner(IOptions<ChatToolsOptions> options, ILogger<ToolRunner> logger)
{
    public TimeSpan Timeout => options.Value.Timeout;

    public async Task<ToolOutcome> RunAsync(
        AIFunction? function, FunctionCallContent call, AIFunctionArguments arguments, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        long Elapsed() => (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;

        if (function is null)
        {
            return Fail($"There is no tool named '{ToolEvents.Shorten(call.Name)}'.", "tool_not_found");
        }

        if (call.Exception is not null)
        {
            // The model's arguments were not a JSON object (not JSON at all, or an array, a string): the library could not parse them.
            return Fail("The arguments were not a JSON object.", "invalid_arguments");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            // WaitAsync: a tool that ignores its token still ends the call on time (and runs on, unobserved).
            var value = await function.InvokeAsync(arguments, timeout.Token).AsTask().WaitAsync(timeout.Token);
            var result = value is JsonElement element ? element : JsonSerializer.SerializeToElement(value, function.JsonSerializerOptions);
            return ToolOutcome.Succeeded(result, Elapsed());
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Fail($"The tool did not finish within {Timeout.TotalSeconds:0.###} s.", "timeout");
        }
        catch (ToolInputException e)
        {
            return Fail(e.Message, "invalid_input");
        }
        catch (Exception e) when (e is ArgumentException or JsonException or FormatException or InvalidCastException)
        {
            // Arguments that do not bind to the tool's parameters: missing, or of the wrong JSON type. The binder's own
            // message names .NET types; the model and the page get the parameters the tool takes instead.
            return Fail($"The arguments do not fit the tool's parameters ({Parameters(function)}).", "invalid_arguments");
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogToolFailed(logger, function.Name, e);
            return Fail("The tool failed.", e.GetType().FullName!);
        }

        ToolOutcome Fail(string error, string errorType)
        {
            // The execute_tool span of this call (Microsoft.Extensions.AI's) records the failure.
            Activity.Current?.SetStatus(ActivityStatusCode.Error, error).SetTag("error.type", errorType);
            return ToolOutcome.Failed(error, Elapsed());
        }
    }

    // "expression: string (required)", from the tool's JSON schema.
    private static string Parameters(AIFunction function)
    {
        var schema = function.JsonSchema;
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return "none";
        }

        var required = schema.TryGetProperty("required", out var names) && names.ValueKind == JsonValueKind.Array
            ? names.EnumerateArray().Select(name => name.GetString()).ToHashSet()
            : [];
        var list = properties.EnumerateObject().Select(property =>
            $"{property.Name}: {(property.Value.ValueKind == JsonValueKind.Object && property.Value.TryGetProperty("type", out var type) ? type.ToString() : "any")}"
            + (required.Contains(property.Name) ? " (required)" : "")).ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Tool {ToolName} failed")]
    private static partial void LogToolFailed(ILogger logger, string toolName, Exception exception);
}
