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

    /// <summary>An event the platform's SSE parser read, arrived <paramref name="at"/> after the response began.</summary>
    public static ReceivedEvent Of(SseItem<string> item, TimeSpan at) =>
        new(item.EventType, item.EventId ?? "", JsonDocument.Parse(item.Data).RootElement.Clone(), at) { RawData = item.Data };
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

    /// <summary>
    /// Reads the events of a response with the platform's SSE parser, noting when each arrived. A stream that has not
    /// ended within <paramref name="within"/> (default <see cref="Bounds.Stream"/>) fails with a
    /// <see cref="TimeoutException"/> that names the request and the last event read, instead of hanging the test.
    /// </summary>
    public static async Task<List<ReceivedEvent>> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken, TimeSpan? within = null)
    {
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            return [];
        }

        return await ReadEventsAsync(response, until: null, cancellationToken, within);
    }

    /// <summary>
    /// Reads events until the stream ends or <paramref name="until"/> says stop (after adding the event it is given),
    /// within <paramref name="within"/> (default <see cref="Bounds.Stream"/>); <paramref name="onEvent"/> sees each as it comes.
    /// </summary>
    public static async Task<List<ReceivedEvent>> ReadEventsAsync(
        HttpResponseMessage response,
        Func<List<ReceivedEvent>, bool>? until,
        CancellationToken cancellationToken,
        TimeSpan? within = null,
        Action<ReceivedEvent>? onEvent = null)
    {
        var bound = within ?? Bounds.Stream;
        var clock = Stopwatch.StartNew();
        var events = new List<ReceivedEvent>();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(bound);
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(deadline.Token);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(deadline.Token))
            {
                var received = ReceivedEvent.Of(item, clock.Elapsed);
                events.Add(received);
                onEvent?.Invoke(received);
                if (until?.Invoke(events) == true)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            var last = events.Count == 0 ? "none" : $"{events[^1].Name} id {events[^1].Id}: {events[^1].RawData}";
            throw new TimeoutException(
                $"The stream of {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} did not end within {bound}: " +
                $"{events.Count} events read, the last {last}", e);
        }

        return events;
    }

    /// <summary>
    /// Opens a stream, reads until the first token, then leaves as a closed browser tab would.
    /// Returns the trace id of the <c>start</c> event.
    /// </summary>
    public static async Task<string> OpenAndLeaveAsync(HttpClient client, object body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };
        var events = await ReadUntilCutAsync(client, request, events => events is [.., { Name: "token" }], cancellationToken);
        return events.FirstOrDefault(e => e.Name == "start")?.Data.GetProperty("traceId").GetString()
            ?? throw new InvalidOperationException("The stream had no start event.");
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
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cut.Token);
        var events = until([]) ? [] : await ReadEventsAsync(response, until, cut.Token);
        cut.Cancel();
        return events;
    }

    public static string Text(this IEnumerable<ReceivedEvent> events) =>
        string.Concat(events.Where(e => e.Name == "token").Select(e => e.Data.GetProperty("text").GetString()));
}
