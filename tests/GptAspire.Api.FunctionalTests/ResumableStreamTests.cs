using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>An answer outlives its connection: resume with Last-Event-ID, Stop, abandon, limits, shutdown.</summary>
public class ResumableStreamTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static HttpRequestMessage Post(object body) =>
        new(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };

    private static string RequestIdOf(IReadOnlyList<ReceivedEvent> events) => events[0].Data.GetProperty("requestId").GetString()!;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_stream_cut_at_100_points_and_resumed_with_Last_Event_ID_is_the_uninterrupted_stream()
    {
        var body = ChatStream.Body("Explain resumable streams", maxTokens: 30);
        var (_, reference) = await ChatStream.PostAsync(fixture.Api, body, Timeout);
        var n = reference.Count;
        Assert.Equal("finish", reference[^1].Name);

        // Cut after k events: 0 is before start, n - 2 after the last token, n - 1 before finish; the rest at random.
        var random = new Random(2026);
        var cuts = new[] { 0, 1, 2, n - 2, n - 1 }.Concat(Enumerable.Range(0, 95).Select(_ => random.Next(0, n))).ToArray();
        var checkedEvents = 0;

        await Parallel.ForEachAsync(cuts, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Timeout }, async (k, ct) =>
        {
            var before = await ChatStream.ReadUntilCutAsync(fixture.Api, Post(body), events => events.Count >= k, ct);
            List<ReceivedEvent> whole;
            if (before.Count == 0)
            {
                // Cut before start: the client never learnt the request id, so it can only ask again.
                (_, whole) = await ChatStream.PostAsync(fixture.Api, body, ct);
            }
            else
            {
                var (response, rest) = await ChatStream.ResumeAsync(fixture.Api, RequestIdOf(before), before[^1].Id, ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                whole = [.. before, .. rest];
            }

            Assert.Equal(reference.Select(e => e.Id), whole.Select(e => e.Id));
            Assert.Equal(reference.Select(e => e.Name), whole.Select(e => e.Name));
            // Every event after start is byte for byte the uninterrupted run's (start differs only in ids).
            Assert.Equal(reference.Skip(1).Select(e => e.RawData), whole.Skip(1).Select(e => e.RawData));
            Assert.Equal(reference.Text(), whole.Text());
            Interlocked.Add(ref checkedEvents, whole.Count);
        });

        TestContext.Current.SendDiagnosticMessage($"{cuts.Length} cuts, {checkedEvents} events checked, 0 lost or duplicated");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Resuming_without_an_id_replays_the_whole_stream_with_its_original_ids_and_bytes()
    {
        var (_, original) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Replay me", maxTokens: 20), Timeout);

        var (response, replay) = await ChatStream.ResumeAsync(fixture.Api, RequestIdOf(original), lastEventId: null, Timeout);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(original.Select(e => (e.Name, e.Id, e.RawData)), replay.Select(e => (e.Name, e.Id, e.RawData)));

        using var query = await fixture.Api.GetAsync($"/api/chat/stream/{RequestIdOf(original)}?lastEventId=3", Timeout);
        var fromQuery = await ChatStream.ReadAsync(query, Timeout);
        Assert.Equal(original.Skip(4).Select(e => e.Id), fromQuery.Select(e => e.Id));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Resuming_an_ended_answer_after_its_last_event_is_204_so_an_EventSource_stops_reconnecting()
    {
        var (_, original) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Short", maxTokens: 5), Timeout);

        // The last id, and ids far past it (up to the largest a long holds): nothing, and never the stream again.
        foreach (var id in new[] { original[^1].Id, "99999", "2147483647", "2147483648", "4294967295", "4294967300", "9223372036854775807" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{RequestIdOf(original)}");
            request.Headers.Add("Last-Event-ID", id);
            using var response = await fixture.Api.SendAsync(request, Timeout);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync(Timeout));
        }

        // One event before the end is still a stream: the last event, then the end.
        var (before, last) = await ChatStream.ResumeAsync(fixture.Api, RequestIdOf(original), original[^2].Id, Timeout);
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal([original[^1].RawData], last.Select(e => e.RawData));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_unknown_stream_is_404_and_a_bad_Last_Event_ID_is_400()
    {
        using var unknown = await fixture.Api.GetAsync("/api/chat/stream/0123456789abcdef0123456789abcdef", Timeout);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        using var stop = await ChatStream.StopAsync(fixture.Api, "0123456789abcdef0123456789abcdef", Timeout);
        Assert.Equal(HttpStatusCode.NotFound, stop.StatusCode);

        // Whatever was asked for, the answer does not repeat it: an id in a link is no way to put text on the page.
        foreach (var id in new[] { "0123456789abcdef0123456789abcdef", "echo-me-3f9a1c", "%3Cb%3Eecho%3C%2Fb%3E" })
        {
            foreach (var response in new[]
            {
                await fixture.Api.GetAsync($"/api/chat/stream/{id}", Timeout),
                await ChatStream.StopAsync(fixture.Api, id, Timeout),
            })
            {
                using (response)
                {
                    Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
                    var wire = await response.Content.ReadAsStringAsync(Timeout)
                        + string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(",", h.Value)}"));
                    Assert.DoesNotContain(Uri.UnescapeDataString(id), wire);
                    Assert.DoesNotContain(id, wire);
                }
            }
        }

        var (_, original) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Short", maxTokens: 5), Timeout);
        foreach (var bad in new[] { "-1", "abc", "1.5", "99999999999999999999999" })
        {
            var (response, _) = await ChatStream.ResumeAsync(fixture.Api, RequestIdOf(original), bad, Timeout);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Stop_cancels_upstream_at_once_and_every_reader_gets_finish_stopped()
    {
        using var post = await fixture.Api.SendAsync(Post(ChatStream.Body("Stop me [emulator:long] [emulator:delay=50]")), HttpCompletionOption.ResponseHeadersRead, Timeout);
        var first = ReadInBackground(post);
        var requestId = await first.RequestId.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
        using var get = await fixture.Api.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}"), HttpCompletionOption.ResponseHeadersRead, Timeout);
        var second = ReadInBackground(get);
        await first.Tokens(3);

        var clock = Stopwatch.StartNew();
        using var stop = await ChatStream.StopAsync(fixture.Api, requestId, Timeout);
        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);

        var a = await first.Done.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
        var b = await second.Done.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
        var elapsed = clock.Elapsed;
        foreach (var events in new[] { a, b })
        {
            Assert.Equal(["usage", "finish"], events[^2..].Select(e => e.Name));
            Assert.Equal("stopped", events[^1].Data.GetProperty("reason").GetString());
            Assert.Equal(events.Count(e => e.Name == "token"), events[^2].Data.GetProperty("completionTokens").GetInt32(), 3.0);
        }

        Assert.Equal(a.Select(e => e.RawData), b.Select(e => e.RawData));
        // The long answer would take over a minute at 50 ms a token; how fast the stop lands is the bench's to measure.
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"finish stopped arrived {elapsed.TotalMilliseconds:F0} ms after the stop");
        TestContext.Current.SendDiagnosticMessage($"finish stopped {elapsed.TotalMilliseconds:F0} ms after the stop");

        var traceId = a[0].Data.GetProperty("traceId").GetString()!;
        var recorded = await EmulatorRequests.WaitForTraceAsync(fixture.Emulator, traceId, r => r.GetProperty("cancelled").GetBoolean(), TimeSpan.FromSeconds(5), Timeout);
        Assert.False(recorded.GetProperty("completed").GetBoolean());

        using var again = await ChatStream.StopAsync(fixture.Api, requestId, Timeout);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_client_that_comes_back_within_the_grace_time_gets_the_whole_answer()
    {
        var body = ChatStream.Body("Come back [emulator:delay=20]", maxTokens: 120);
        var before = await ChatStream.ReadUntilCutAsync(fixture.Api, Post(body), events => events.Count(e => e.Name == "token") >= 2, Timeout);
        await Task.Delay(TimeSpan.FromSeconds(1), Timeout);

        var (_, rest) = await ChatStream.ResumeAsync(fixture.Api, RequestIdOf(before), before[^1].Id, Timeout);
        var (_, reference) = await ChatStream.PostAsync(fixture.Api, body, Timeout);
        Assert.Equal(reference[^1].RawData, rest[^1].RawData);
        Assert.Equal(reference.Text(), before.Concat(rest).Text());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task When_the_API_runs_its_most_live_streams_a_new_one_gets_503_with_Retry_After()
    {
        var slow = ChatStream.Body("Hold the line [emulator:long] [emulator:delay=100]");
        using var one = await fixture.LimitedApi.SendAsync(Post(slow), HttpCompletionOption.ResponseHeadersRead, Timeout);
        using var two = await fixture.LimitedApi.SendAsync(Post(slow), HttpCompletionOption.ResponseHeadersRead, Timeout);
        var ids = new List<string>();
        foreach (var response in new[] { one, two })
        {
            var reading = ReadInBackground(response);
            ids.Add(await reading.RequestId.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout));
        }

        using var three = await fixture.LimitedApi.SendAsync(Post(slow), Timeout);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, three.StatusCode);
        Assert.Equal("application/problem+json", three.Content.Headers.ContentType?.MediaType);
        Assert.True(three.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        foreach (var id in ids)
        {
            using var stop = await ChatStream.StopAsync(fixture.LimitedApi, id, Timeout);
        }

        // Once they end, there is room again.
        await Eventually.UntilAsync(
            async () => (await ChatStream.PostAsync(fixture.LimitedApi, ChatStream.Body("Room now", maxTokens: 5), Timeout)).Response.StatusCode == HttpStatusCode.OK,
            "room for a new stream once the two were stopped", every: TimeSpan.FromMilliseconds(200), cancellationToken: Timeout);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_stream_past_its_event_limit_ends_with_stream_too_large_and_keeps_its_ids()
    {
        var (_, events) = await ChatStream.PostAsync(fixture.LimitedApi, ChatStream.Body("Go long [emulator:long] [emulator:delay=1]"), Timeout);

        Assert.Equal("error", events[^1].Name);
        Assert.Equal("stream_too_large", events[^1].Data.GetProperty("code").GetString());
        Assert.InRange(events.Count, 50, 60);
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_finished_stream_expires_after_the_retention_time()
    {
        var (_, events) = await ChatStream.PostAsync(fixture.LimitedApi, ChatStream.Body("Soon gone", maxTokens: 5), Timeout);
        var finished = Stopwatch.StartNew();
        var requestId = RequestIdOf(events);

        var (kept, _) = await ChatStream.ResumeAsync(fixture.LimitedApi, requestId, null, Timeout);
        Assert.Equal(HttpStatusCode.OK, kept.StatusCode);

        // Kept 2 s; the clock sweeps about once a second. It is gone after that, and not before.
        await Eventually.UntilAsync(
            async () => (await ChatStream.ResumeAsync(fixture.LimitedApi, requestId, null, Timeout)).Response.StatusCode == HttpStatusCode.NotFound,
            "a 404 for the finished stream once its retention ended", every: TimeSpan.FromMilliseconds(200), cancellationToken: Timeout);
        Assert.True(finished.Elapsed >= TimeSpan.FromSeconds(1.5), $"gone {finished.Elapsed.TotalSeconds:F1} s after it finished, kept 2 s");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task On_shutdown_every_open_stream_ends_with_server_shutting_down()
    {
        var (client, server) = fixture.StartApi();
        using (client)
        {
            using var post = await client.SendAsync(Post(ChatStream.Body("Until shutdown [emulator:long] [emulator:delay=100]")), HttpCompletionOption.ResponseHeadersRead, Timeout);
            var reading = ReadInBackground(post);
            await reading.Tokens(1);

            var clock = Stopwatch.StartNew();
            await server.DisposeAsync();
            var events = await reading.Done.WaitAsync(TimeSpan.FromSeconds(10), Timeout);

            Assert.Equal("error", events[^1].Name);
            Assert.Equal("server_shutting_down", events[^1].Data.GetProperty("code").GetString());
            TestContext.Current.SendDiagnosticMessage($"Shut down in {clock.ElapsedMilliseconds} ms with a stream open");
        }
    }

    private static BackgroundRead ReadInBackground(HttpResponseMessage response) => new(response);
}
