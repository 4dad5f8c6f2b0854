using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.AppHost.Tests;

/// <summary>Reads the emulator's log of recent requests (<c>GET /_emulator/requests</c>).</summary>
public static class EmulatorRequests
{
    public static async Task<JsonElement[]> ListAsync(HttpClient emulator, CancellationToken cancellationToken) =>
        (await emulator.GetFromJsonAsync<JsonElement>("/_emulator/requests", cancellationToken)).EnumerateArray().ToArray();

    /// <summary>Polls until a recorded request matches, or fails with what was recorded.</summary>
    public static async Task<JsonElement> WaitForAsync(
        HttpClient emulator, Func<JsonElement, bool> match, TimeSpan within, CancellationToken cancellationToken)
    {
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
