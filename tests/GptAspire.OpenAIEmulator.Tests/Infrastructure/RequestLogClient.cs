using System.Text.Json;

namespace GptAspire.OpenAIEmulator.Tests.Infrastructure;

/// <summary>Reads <c>GET /_emulator/requests</c>.</summary>
public static class RequestLogClient
{
    public static async Task<IReadOnlyList<JsonElement>> AllAsync(HttpClient client)
    {
        using var anonymous = new HttpRequestMessage(HttpMethod.Get, "/_emulator/requests");
        var response = await client.SendAsync(anonymous);
        response.EnsureSuccessStatusCode();
        return [.. (await Chat.JsonAsync(response)).EnumerateArray()];
    }

    /// <summary>Waits until the request with this traceparent has ended (the server may notice a disconnect a little later).</summary>
    public static async Task<JsonElement> EndedAsync(HttpClient client, string traceparent, TimeSpan? timeout = null) =>
        (JsonElement)await Eventually.FindAsync<object>(async () =>
        {
            var entry = (await AllAsync(client)).LastOrDefault(entry =>
                entry.GetProperty("traceparent").ValueKind == JsonValueKind.String
                && entry.GetProperty("traceparent").GetString() == traceparent);
            return entry.ValueKind == JsonValueKind.Object && entry.GetProperty("endedAt").ValueKind != JsonValueKind.Null ? entry : null;
        }, $"an ended request with traceparent {traceparent} in the log", timeout);

    public static string NewTraceparent() => $"00-{Guid.NewGuid():N}-{Guid.NewGuid():N}"[..52] + "-01";
}
