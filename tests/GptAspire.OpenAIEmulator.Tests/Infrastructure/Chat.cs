using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GptAspire.OpenAIEmulator.Tests.Infrastructure;

/// <summary>Builds raw chat completions requests and reads raw responses, as curl would see them.</summary>
public static class Chat
{
    public const string OpenAIPath = "/v1/chat/completions";
    public const string AzureV1Path = "/openai/v1/chat/completions";
    public const string AzureDeploymentPath = "/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21";

    public static JsonObject Body(string prompt, bool stream = false, bool includeUsage = false, int? maxTokens = null, string? model = "gpt-4o-mini")
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "You are a helpful assistant." },
                new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        if (model is not null)
        {
            body["model"] = model;
        }

        if (stream)
        {
            body["stream"] = true;
        }

        if (includeUsage)
        {
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        if (maxTokens is not null)
        {
            body["max_tokens"] = maxTokens;
        }

        return body;
    }

    public static HttpRequestMessage Post(string path, JsonNode body) => new(HttpMethod.Post, path)
    {
        Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
    };

    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, JsonNode body, CancellationToken cancellationToken = default) =>
        await client.SendAsync(Post(path, body), HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var bound = Bound();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(bound.Token)).RootElement.Clone();
    }

    /// <summary>The test's cancellation, ended after <see cref="Bounds.Stream"/>: a body that never ends fails the test.</summary>
    private static CancellationTokenSource Bound(CancellationToken cancellationToken = default)
    {
        var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken.CanBeCanceled ? cancellationToken : TestContext.Current.CancellationToken);
        bound.CancelAfter(Bounds.Stream);
        return bound;
    }

    /// <summary>
    /// Reads a whole event stream and checks its framing: every event is exactly <c>data: PAYLOAD\n\n</c>.
    /// Returns the payloads in order.
    /// </summary>
    public static async Task<IReadOnlyList<string>> EventsAsync(HttpResponseMessage response)
    {
        using var bound = Bound();
        var body = await response.Content.ReadAsStringAsync(bound.Token);
        Assert.EndsWith("\n\n", body);
        var events = body[..^2].Split("\n\n");
        foreach (var @event in events)
        {
            Assert.StartsWith("data: ", @event);
            Assert.DoesNotContain('\n', @event);
        }

        return [.. events.Select(@event => @event["data: ".Length..])];
    }

    public static IReadOnlyList<JsonElement> Chunks(IEnumerable<string> payloads) =>
        [.. payloads.Where(payload => payload != "[DONE]").Select(payload => JsonDocument.Parse(payload).RootElement.Clone())];

    /// <summary>The streamed text: the concatenated <c>delta.content</c> of every chunk.</summary>
    public static string Text(IEnumerable<JsonElement> chunks) => string.Concat(chunks
        .SelectMany(chunk => chunk.GetProperty("choices").EnumerateArray())
        .Select(choice => choice.GetProperty("delta").TryGetProperty("content", out var content) ? content.GetString() : ""));

    public static IReadOnlyList<JsonElement> TokenChunks(IEnumerable<JsonElement> chunks) => [.. chunks.Where(chunk =>
        chunk.GetProperty("choices").EnumerateArray().Any(choice =>
            choice.GetProperty("delta").TryGetProperty("content", out var content) && content.GetString() is { Length: > 0 }))];

    /// <summary>Reads an event stream as it arrives, noting when each payload came.</summary>
    public static async Task<IReadOnlyList<(string Payload, TimeSpan At)>> TimedEventsAsync(HttpResponseMessage response, Stopwatch clock, CancellationToken cancellationToken = default)
    {
        var events = new List<(string, TimeSpan)>();
        using var bound = Bound(cancellationToken);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(bound.Token));
        while (await reader.ReadLineAsync(bound.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                events.Add((line["data: ".Length..], clock.Elapsed));
            }
        }

        return events;
    }

    public static void AddApiKeyHeader(HttpRequestMessage request, string key) => request.Headers.Add("api-key", key);

    public static MediaTypeHeaderValue? ContentType(HttpResponseMessage response) => response.Content.Headers.ContentType;
}
