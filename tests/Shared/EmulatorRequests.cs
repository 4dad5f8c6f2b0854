using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.Tests;

/// <summary>Reads the emulator's log of recent requests (<c>GET /_emulator/requests</c>).</summary>
public static class EmulatorRequests
{
    public static async Task<JsonElement[]> ListAsync(HttpClient emulator, CancellationToken cancellationToken) =>
        (await emulator.GetFromJsonAsync<JsonElement>("/_emulator/requests", cancellationToken)).EnumerateArray().ToArray();

    /// <summary>The request whose <c>traceparent</c> carries <paramref name="traceId"/>, once it matches.</summary>
    public static Task<JsonElement> WaitForTraceAsync(
        HttpClient emulator, string traceId, Func<JsonElement, bool> match, TimeSpan within, CancellationToken cancellationToken) =>
        WaitForAsync(emulator, r => TraceIdOf(r) == traceId && match(r), within, cancellationToken);

    /// <summary>The trace id of a recorded request's <c>traceparent</c> header, or null.</summary>
    public static string? TraceIdOf(JsonElement request) =>
        request.TryGetProperty("traceparent", out var parent) && parent.GetString() is { } value && value.Split('-') is { Length: 4 } parts
            ? parts[1]
            : null;

    /// <summary>
    /// Polls until a recorded request matches, or fails with what was recorded. <paramref name="within"/> is a
    /// deadline, not a measure of speed: never less than <see cref="Bounds.Condition"/>.
    /// </summary>
    public static async Task<JsonElement> WaitForAsync(
        HttpClient emulator, Func<JsonElement, bool> match, TimeSpan within, CancellationToken cancellationToken)
    {
        within = within < Bounds.Condition ? Bounds.Condition : within;
        var deadline = DateTime.UtcNow + within;
        JsonElement[] requests;
        do
        {
            requests = await ListAsync(emulator, cancellationToken);
            if (requests.FirstOrDefault(match) is { ValueKind: JsonValueKind.Object } found)
            {
                return found;
            }

            await Task.Delay(100, cancellationToken);
        }
        while (DateTime.UtcNow < deadline);

        throw new Xunit.Sdk.XunitException($"No matching request within {within}. Recorded: {string.Join("\n", requests.Select(r => r.ToString()))}");
    }
}
