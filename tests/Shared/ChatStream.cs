using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace GptAspire.Tests;

/// <summary>One event as the client saw it, with when it arrived.</summary>
public sealed record ReceivedEvent(string Name, string Id, JsonElement Data, TimeSpan At);

/// <summary>Posts a chat and reads the answer with the platform's SSE parser, as a client would.</summary>
public static class ChatStream
{
    public static object Body(string question, int? maxTokens = null) => new
    {
        messages = new[] { new { role = "user", content = question } },
        maxTokens,
    };

    public static async Task<(HttpResponseMessage Response, List<ReceivedEvent> Events)> PostAsync(
        HttpClient client, object body, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return (response, await ReadAsync(response, cancellationToken));
    }

    /// <summary>Reads the events of a response with the platform's SSE parser, noting when each arrived.</summary>
    public static async Task<List<ReceivedEvent>> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var events = new List<ReceivedEvent>();
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            return events;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken))
        {
            events.Add(new ReceivedEvent(item.EventType, item.EventId ?? "", JsonDocument.Parse(item.Data).RootElement.Clone(), clock.Elapsed));
        }

        return events;
    }

    /// <summary>
    /// Opens a stream, reads until the first token, then leaves as a closed browser tab would.
    /// Returns the trace id of the <c>start</c> event.
    /// </summary>
    public static async Task<string> OpenAndLeaveAsync(HttpClient client, object body, CancellationToken cancellationToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel.Token);
        string? traceId = null;
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancel.Token))
        {
            if (item.EventType == "start")
            {
                traceId = JsonDocument.Parse(item.Data).RootElement.GetProperty("traceId").GetString();
            }
            else if (item.EventType == "token")
            {
                break;
            }
        }

        cancel.Cancel();
        return traceId ?? throw new InvalidOperationException("The stream had no start event.");
    }

    public static string Text(this IEnumerable<ReceivedEvent> events) =>
        string.Concat(events.Where(e => e.Name == "token").Select(e => e.Data.GetProperty("text").GetString()));
}
