using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.Logging;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// How a stream ends when the API ends it: what a reader sees after <c>abandoned</c> and <c>internal_error</c>,
/// and the per-stream and retention limits, all through HTTP.
/// </summary>
public sealed class StreamEndingTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static HttpRequestMessage Post(object body) =>
        new(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };

    private static string RequestIdOf(IReadOnlyList<ReceivedEvent> events) => events[0].Data.GetProperty("requestId").GetString()!;

    private static void AssertIdsCount(IReadOnlyList<ReceivedEvent> events, int from = 0) =>
        Assert.Equal(Enumerable.Range(from, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_reader_back_after_the_answer_was_abandoned_gets_what_was_sent_then_error_abandoned()
    {
        var before = await ChatStream.ReadUntilCutAsync(
            fixture.Api, Post(ChatStream.Body("Leave me [emulator:long] [emulator:delay=100]")), events => events.Count(e => e.Name == "token") >= 2, Timeout);
        var requestId = RequestIdOf(before);

        // Nobody reads for AbandonAfter (2 s here): the API cancels the upstream call. Wait for that, not for a clock.
        var traceId = before[0].Data.GetProperty("traceId").GetString()!;
        await EmulatorRequests.WaitForTraceAsync(fixture.Emulator, traceId, r => r.GetProperty("cancelled").GetBoolean(), Bounds.Condition, Timeout);

        var (response, rest) = await ChatStream.ResumeAsync(fixture.Api, requestId, before[^1].Id, Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("error", rest[^1].Name);
        Assert.Equal("abandoned", rest[^1].Data.GetProperty("code").GetString());
        Assert.DoesNotContain(rest, e => e.Name is "finish" or "usage");
        AssertIdsCount(rest, from: int.Parse(before[^1].Id) + 1);

        // The whole stream, asked for again, is the same: what was sent before, the rest, and the same last event.
        var (_, whole) = await ChatStream.ResumeAsync(fixture.Api, requestId, lastEventId: null, Timeout);
        Assert.Equal(before.Concat(rest).Select(e => e.RawData), whole.Select(e => e.RawData));
        AssertIdsCount(whole);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_failure_inside_the_API_ends_the_stream_with_internal_error_for_every_reader_and_logs_an_error()
    {
        // No request or upstream answer makes the API itself fail (every upstream failure has its own code), so the
        // test makes one: the API's log of a finished answer throws, after the tokens and before the last event.
        var logs = new LogSink { ThrowOn = e => e.Message.StartsWith("Chat stream ", StringComparison.Ordinal) && e.Message.Contains(" finished: ", StringComparison.Ordinal) };
        var (client, server) = fixture.StartApi(logs: logs);
        await using (server)
        using (client)
        {
            var (response, events) = await ChatStream.PostAsync(client, ChatStream.Body("Fail inside", maxTokens: 5), Timeout);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("start", events[0].Name);
            Assert.Contains(events, e => e.Name == "token");
            Assert.Equal("error", events[^1].Name);
            Assert.Equal("internal_error", events[^1].Data.GetProperty("code").GetString());
            Assert.Equal("The server failed while writing this answer. Try again.", events[^1].Data.GetProperty("message").GetString());
            Assert.DoesNotContain(events, e => e.Name == "finish");
            AssertIdsCount(events);

            var requestId = RequestIdOf(events);
            var (_, replay) = await ChatStream.ResumeAsync(client, requestId, lastEventId: null, Timeout);
            Assert.Equal(events.Select(e => e.RawData), replay.Select(e => e.RawData));

            var error = Assert.Single(logs.Entries, l => l.Level == LogLevel.Error && l.Message.Contains(requestId));
            Assert.NotNull(error.Exception);
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_stream_past_its_byte_limit_ends_with_stream_too_large_within_the_limit()
    {
        const int limit = 4096;
        var (client, server) = fixture.StartApi(new Dictionary<string, string> { ["Chat:Streams:MaxBytesPerStream"] = limit.ToString() });
        await using (server)
        using (client)
        {
            var (_, events) = await ChatStream.PostAsync(client, ChatStream.Body("Go long [emulator:long] [emulator:delay=1]"), Timeout);

            Assert.Equal("error", events[^1].Name);
            Assert.Equal("stream_too_large", events[^1].Data.GetProperty("code").GetString());
            AssertIdsCount(events);
            // What was kept before the last event fits the limit, and fills most of it (the event limit is far away).
            var kept = events.SkipLast(1).Sum(e => Encoding.UTF8.GetByteCount($"event: {e.Name}\ndata: {e.RawData}\nid: {e.Id}\n\n"));
            Assert.InRange(kept, limit / 2, limit);
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Past_MaxRetainedStreams_the_oldest_finished_stream_is_dropped_first()
    {
        var (client, server) = fixture.StartApi(new Dictionary<string, string>
        {
            ["Chat:Streams:MaxRetainedStreams"] = "2",
            ["Chat:Streams:RetainFor"] = "00:10:00",
        });
        await using (server)
        using (client)
        {
            var ids = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                var (_, events) = await ChatStream.PostAsync(client, ChatStream.Body($"Keep me {i}", maxTokens: 3), Timeout);
                Assert.Equal("finish", events[^1].Name);
                ids.Add(RequestIdOf(events));
            }

            // The clock sweeps about once a second: the oldest goes, long before its retention time.
            await Eventually.UntilAsync(
                async () => (await ChatStream.ResumeAsync(client, ids[0], null, Timeout)).Response.StatusCode == HttpStatusCode.NotFound,
                "a 404 for the oldest of three finished streams with room for two", every: TimeSpan.FromMilliseconds(200), cancellationToken: Timeout);
            foreach (var id in ids.Skip(1))
            {
                var (response, replay) = await ChatStream.ResumeAsync(client, id, null, Timeout);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("finish", replay[^1].Name);
            }
        }
    }
}
