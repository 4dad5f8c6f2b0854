using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace GptAspire.Tests;

/// <summary>One event as the client saw it, with when it arrived.</summary>
public sealed record ReceivedEvent(string Name, string Id, JsonElement Data, TimeSpan At)
{
    /// <summary>The <c>data</c> line exactly as sent.</summary>
    public string RawData { get; init; } = "";
}

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
            events.Add(new ReceivedEvent(item.EventType, item.EventId ?? "", JsonDocument.Parse(item.Data).RootElement.Clone(), clock.Elapsed) { RawData = item.Data });
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

    /// <summary><c>GET /api/chat/stream/{requestId}</c>, with <c>Last-Event-ID</c> when <paramref name="lastEventId"/> is set.</summary>
    public static async Task<(HttpResponseMessage Response, List<ReceivedEvent> Events)> ResumeAsync(
        HttpClient client, string requestId, string? lastEventId, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return (response, await ReadAsync(response, cancellationToken));
    }

    /// <summary><c>POST /api/chat/stream/{requestId}/stop</c>.</summary>
    public static Task<HttpResponseMessage> StopAsync(HttpClient client, string requestId, CancellationToken cancellationToken = default) =>
        client.PostAsync($"/api/chat/stream/{requestId}/stop", content: null, cancellationToken);

    /// <summary>
    /// Reads events from an open stream until <paramref name="until"/> says stop (after adding the event it is
    /// given), then drops the connection, as a network cut would. Returns what arrived before the cut.
    /// </summary>
    public static async Task<List<ReceivedEvent>> ReadUntilCutAsync(
        HttpClient client, HttpRequestMessage request, Func<List<ReceivedEvent>, bool> until, CancellationToken cancellationToken)
    {
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = new List<ReceivedEvent>();
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cut.Token);
        if (until(events))
        {
            cut.Cancel();
            return events;
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cut.Token);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cut.Token))
        {
            events.Add(new ReceivedEvent(item.EventType, item.EventId ?? "", JsonDocument.Parse(item.Data).RootElement.Clone(), TimeSpan.Zero) { RawData = item.Data });
            if (until(events))
            {
                break;
            }
        }

        cut.Cancel();
        return events;
    }

    public static string Text(this IEnumerable<ReceivedEvent> events) =>
        string.Concat(events.Where(e => e.Name == "token").Select(e => e.Data.GetProperty("text").GetString()));
}
