using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests.Takeover;

/// <summary>
/// Reads one answer to its end as the page does: when a connection ends without a last event, fails, or goes
/// silent for longer than the heartbeat allows, it resumes with <c>Last-Event-ID</c> on the next replica that
/// answers. Records every event once, and which replica served each connection.
/// </summary>
public sealed class ResumingReader(IReadOnlyList<ApiProcess> replicas)
{
    // Five heartbeat intervals (1 s in these tests) without an event: the connection is taken for lost.
    private static readonly TimeSpan Silence = TimeSpan.FromSeconds(5);

    public List<ReceivedEvent> Events { get; } = [];

    /// <summary>How many events have arrived, readable from another thread while the reader reads.</summary>
    public int EventCount;

    /// <summary>The replicas that served each connection, in order.</summary>
    public List<string> ServedBy { get; } = [];

    public string? RequestId { get; private set; }

    public string LastId => Events.Count == 0 ? "" : Events[^1].Id;

    public bool Ended => Events.Count > 0 && Events[^1].Name is "finish" or "error";

    /// <summary>Starts the answer on <paramref name="first"/> and reads until <paramref name="until"/> says stop (or the end).</summary>
    public async Task StartAsync(ApiProcess first, object body, Func<List<ReceivedEvent>, bool> until, CancellationToken cancellationToken, HttpRequestMessage? request = null)
    {
        request ??= new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };
        await ReadConnectionAsync(first, request, until, cancellationToken);
        RequestId = Events.Count == 0 ? null : Events[0].Data.GetProperty("requestId").GetString();
    }

    /// <summary>Reads on, resuming on whichever replica answers, until the last event or <paramref name="within"/>.</summary>
    public async Task ReadToEndAsync(TimeSpan within, CancellationToken cancellationToken, ApiProcess? prefer = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(within);
        var next = prefer is null ? 0 : Math.Max(0, replicas.ToList().IndexOf(prefer));
        while (!Ended)
        {
            if (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"The answer did not end within {within}: {Events.Count} events, last {LastId}, served by {string.Join(", ", ServedBy)}.");
            }

            var replica = replicas[next++ % replicas.Count];
            if (!replica.IsRunning || replica.IsPaused)
            {
                continue;
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{RequestId}");
            request.Headers.Add("Last-Event-ID", LastId);
            await ReadConnectionAsync(replica, request, _ => false, deadline.Token);
        }
    }

    private async Task ReadConnectionAsync(ApiProcess replica, HttpRequestMessage request, Func<List<ReceivedEvent>, bool> until, CancellationToken cancellationToken)
    {
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connection.CancelAfter(Silence);
        try
        {
            using var response = await replica.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connection.Token);
            ServedBy.Add(response.Headers.TryGetValues("X-Stream-Replica", out var ids) ? $"{replica.Name}:{ids.Single()}" : replica.Name);
            if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
            {
                return;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(connection.Token);
            var parser = SseParser.Create(stream);
            await foreach (var item in parser.EnumerateAsync(connection.Token))
            {
                connection.CancelAfter(Silence);
                if (item.EventType == "message" && item.Data.Length == 0)
                {
                    continue;
                }

                Events.Add(new ReceivedEvent(item.EventType, item.EventId ?? "", JsonDocument.Parse(item.Data).RootElement.Clone(), TimeSpan.Zero) { RawData = item.Data });
                Interlocked.Increment(ref EventCount);
                if (until(Events))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The replica died, paused or dropped the connection: resume elsewhere.
        }
    }
}
