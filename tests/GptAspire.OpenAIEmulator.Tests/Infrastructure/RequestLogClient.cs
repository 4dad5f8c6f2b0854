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
    public static async Task<JsonElement> EndedAsync(HttpClient client, string traceparent, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var entry = (await AllAsync(client)).LastOrDefault(entry =>
                entry.GetProperty("traceparent").ValueKind == JsonValueKind.String
                && entry.GetProperty("traceparent").GetString() == traceparent);
            if (entry.ValueKind == JsonValueKind.Object && entry.GetProperty("endedAt").ValueKind != JsonValueKind.Null)
            {
                return entry;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"No ended request with traceparent {traceparent} in the log.");
            }

            await Task.Delay(50);
        }
    }

    public static string NewTraceparent() => $"00-{Guid.NewGuid():N}-{Guid.NewGuid():N}"[..52] + "-01";
}
