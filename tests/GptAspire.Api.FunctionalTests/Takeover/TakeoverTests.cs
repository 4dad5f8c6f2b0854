using System.Net;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests.Takeover;

/// <summary>
/// An answer survives the replica that generates it: killed (-9), stopped (SIGTERM) or paused past its lease
/// (SIGSTOP), another replica continues the generation from the last event in Redis, and the reader gets one whole
/// answer, byte for byte the answer the same question gets without a fault (the emulator continues exactly).
/// </summary>
public class TakeoverTests(ReplicaProcesses replicas) : ReplicaProcessTest(replicas)
{
    private static object Question(string text, int maxTokens = 80) => ChatStream.Body($"{text} [emulator:delay=40]", maxTokens);

    // The same question, answered without a fault.
    private async Task<List<ReceivedEvent>> UndisturbedAsync(object body)
    {
        var reader = new ResumingReader(Cluster.Replicas);
        await reader.StartAsync(Cluster.Replicas[2], body, _ => false, Timeout);
        await reader.ReadToEndAsync(Bound, Timeout);
        return reader.Events;
    }

    private static void AssertOneWholeAnswer(List<ReceivedEvent> reference, List<ReceivedEvent> events)
    {
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));
        Assert.Equal(1, events.Count(e => e.Name == "start"));
        Assert.Equal(1, events.Count(e => e.Name == "usage"));
        Assert.Equal(1, events.Count(e => e.Name is "finish" or "error"));
        Assert.Equal("finish", events[^1].Name);
        Assert.Equal(reference[^1].RawData, events[^1].RawData);
        Assert.Equal(reference.Text(), events.Text());
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(30)]
    [InlineData(59)]
    public async Task An_owner_killed_after_k_tokens_is_taken_over_and_the_reader_gets_the_whole_answer(int k)
    {
        var body = Question($"Tell me about rivers and takeover number {k}", maxTokens: 60);
        var reference = await UndisturbedAsync(body);
        Assert.Equal(60, reference.Count(e => e.Name == "token"));

        var reader = new ResumingReader(Cluster.Replicas);
        await reader.StartAsync(A, body, events => events.Count(e => e.Name == "token") >= k && events.Count > 0, Timeout);
        A.Kill();
        await reader.ReadToEndAsync(Bound, Timeout, prefer: B);

        TestContext.Current.SendDiagnosticMessage($"k={k}: served by {string.Join(", ", reader.ServedBy)}");
        AssertOneWholeAnswer(reference, reader.Events);
        Assert.Contains(reader.ServedBy.Skip(1), s => !s.StartsWith(A.Name, StringComparison.Ordinal));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_owner_killed_after_a_tool_result_is_taken_over_without_running_the_tool_again()
    {
        var body = Question("What is (12.5 + 7) * 3? Show the sum", maxTokens: 200);
        var reference = await UndisturbedAsync(body);
        Assert.Single(reference, e => e.Name == "tool_result");

        var reader = new ResumingReader(Cluster.Replicas);
        await reader.StartAsync(A, body, events => events.SkipWhile(e => e.Name != "tool_result").Count(e => e.Name == "token") >= 3, Timeout);
        A.Kill();
        await reader.ReadToEndAsync(Bound, Timeout, prefer: B);

        AssertOneWholeAnswer(reference, reader.Events);
        // The call and its result once each, as in the undisturbed answer: the new owner read the result from Redis.
        Assert.Equal(
            reference.Where(e => e.Name is "tool_call").Select(e => e.RawData),
            reader.Events.Where(e => e.Name is "tool_call").Select(e => e.RawData));
        var result = Assert.Single(reader.Events, e => e.Name == "tool_result");
        Assert.Equal(58.5m, result.Data.GetProperty("result").GetProperty("value").GetDecimal());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_time_tool_answers_in_the_API_as_it_ships()
    {
        // A real API process, as published: invariant globalization (no ICU), the system's zone files.
        var (response, events) = await ChatStream.PostAsync(A.Client, ChatStream.Body("What time is it in Tokyo?", maxTokens: 200), Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = Assert.Single(events, e => e.Name == "tool_result").Data;
        Assert.False(result.TryGetProperty("error", out var error), error.ToString());
        Assert.EndsWith("+09:00", result.GetProperty("result").GetProperty("localTime").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_Last_Event_ID_past_the_end_of_a_live_answer_is_400_not_a_silent_wait()
    {
        var reader = new ResumingReader(Cluster.Replicas);
        await reader.StartAsync(A, Question("Resume me from the future", maxTokens: 100), events => events.Count(e => e.Name == "token") >= 3, Timeout);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{reader.RequestId}");
        request.Headers.Add("Last-Event-ID", "99999");
        using var response = await A.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_curl_style_resume_after_the_owner_died_continues_with_the_next_ids()
    {
        var body = Question("Explain lighthouses to me, resumed by a plain client");
        var reference = await UndisturbedAsync(body);
        var reader = new ResumingReader(Cluster.Replicas);
        await reader.StartAsync(A, body, events => events.Count(e => e.Name == "token") >= 12, Timeout);
        A.Kill();

        // One GET with Last-Event-ID on another replica: it waits out the lease, then streams the rest.
        var (response, rest) = await ChatStream.ResumeAsync(B.Client, reader.RequestId!, reader.LastId, Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((long.Parse(reader.LastId) + 1).ToString(), rest[0].Id);
        AssertOneWholeAnswer(reference, [.. reader.Events, .. rest]);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_replica_stopped_with_SIGTERM_hands_its_answers_over_without_waiting_for_the_lease()
    {
        // A lease far longer than a hand-over may take: an answer that waited for it would show.
        await A.RestartAsync(new Dictionary<string, string> { ["Chat__Streams__TakeoverAfter"] = "00:00:30" });
        await B.RestartAsync(new Dictionary<string, string> { ["Chat__Streams__TakeoverAfter"] = "00:00:30" });
        try
        {
            var body = Question("Describe a rolling deploy of a chat server");
            var reference = await UndisturbedAsync(body);
            var reader = new ResumingReader([A, B]);
            await reader.StartAsync(A, body, events => events.Count(e => e.Name == "token") >= 10, Timeout);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await A.TerminateAsync(TimeSpan.FromSeconds(30));
            await reader.ReadToEndAsync(Bound, Timeout, prefer: B);
            TestContext.Current.SendDiagnosticMessage($"handed over and finished {clock.ElapsedMilliseconds} ms after SIGTERM; served by {string.Join(", ", reader.ServedBy)}");

            AssertOneWholeAnswer(reference, reader.Events);
            Assert.DoesNotContain(reader.Events, e => e.Name == "error");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"the answer ended {clock.Elapsed} after SIGTERM: it waited for the 30 s lease");
            Assert.Contains("handed over", A.Log, StringComparison.Ordinal);
        }
        finally
        {
            await Task.WhenAll(A.RestartAsync([]), B.RestartAsync([]));
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_owner_paused_past_its_lease_is_fenced_off_when_it_comes_back_and_its_upstream_call_is_cancelled()
    {
        var body = Question("Tell me about stalled processes and fencing", maxTokens: 300);
        var reference = await UndisturbedAsync(body);
        var reader = new ResumingReader(Cluster.Replicas);
        await reader.StartAsync(A, body, events => events.Count(e => e.Name == "token") >= 10, Timeout);
        var traceId = reader.Events[0].Data.GetProperty("traceId").GetString()!;

        A.Pause();
        var reading = reader.ReadToEndAsync(Bound, Timeout, prefer: B);
        // The owner comes back as soon as another replica has taken the answer over and streams it on (so that the
        // owner's own upstream call is most likely still running): it must write nothing more.
        var takenOver = $"Chat stream {reader.RequestId} taken over";
        await Eventually.UntilAsync(() => Cluster.Replicas.Any(r => r != A && r.Log.Contains(takenOver, StringComparison.Ordinal)), "another replica to take the answer over", Bounds.Stream, Timeout);
        var atTakeover = Volatile.Read(ref reader.EventCount);
        await Eventually.UntilAsync(() => Volatile.Read(ref reader.EventCount) > atTakeover + 2, "the takeover to stream on", Bounds.Stream, Timeout);
        var resumedAt = DateTimeOffset.UtcNow;
        A.Resume();
        await reading;

        AssertOneWholeAnswer(reference, reader.Events);
        // Back from its pause, the old owner writes nothing more: its next append is refused, and its upstream call is
        // cancelled, unless the emulator had already sent the whole reply into its socket while it was stopped (a
        // slow machine): then there was nothing left to cancel.
        var original = await EmulatorRequests.WaitForTraceAsync(Cluster.Emulator, traceId, r => r.GetProperty("endedAt").ValueKind != JsonValueKind.Null, TimeSpan.FromSeconds(15), Timeout);
        if (!original.GetProperty("cancelled").GetBoolean())
        {
            Assert.True(original.GetProperty("completed").GetBoolean(), $"the old owner's upstream call neither cancelled nor completed: {original}");
            Assert.True(original.GetProperty("endedAt").GetDateTimeOffset() < resumedAt, $"the old owner's upstream call ran to its end after the owner came back ({resumedAt:O}): {original}");
        }

        await Eventually.UntilAsync(() => A.Log.Contains("another replica took the answer over", StringComparison.Ordinal), "the old owner to be fenced off", cancellationToken: Timeout);

        // Every replica now serves the same bytes for the whole answer: one writer, no id written twice.
        foreach (var replica in Cluster.Replicas)
        {
            var (_, again) = await ChatStream.ResumeAsync(replica.Client, reader.RequestId!, null, Timeout);
            Assert.Equal(reader.Events.Select(e => e.RawData), again.Select(e => e.RawData));
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_stop_for_an_answer_whose_owner_died_ends_it_stopped_and_does_not_continue_it()
    {
        var body = Question("Stop me after my server dies", maxTokens: 200);
        var reader = new ResumingReader(Cluster.Replicas);
        await reader.StartAsync(A, body, events => events.Count(e => e.Name == "token") >= 5, Timeout);
        var traceId = reader.Events[0].Data.GetProperty("traceId").GetString()!;
        A.Kill();
        var before = reader.Events.Count;

        using var stop = await ChatStream.StopAsync(B.Client, reader.RequestId!, Timeout);
        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        await reader.ReadToEndAsync(Bound, Timeout, prefer: B);

        Assert.Equal("finish", reader.Events[^1].Name);
        Assert.Equal("stopped", reader.Events[^1].Data.GetProperty("reason").GetString());
        Assert.Equal(1, reader.Events.Count(e => e.Name == "usage"));
        Assert.Equal(Enumerable.Range(0, reader.Events.Count).Select(i => i.ToString()), reader.Events.Select(e => e.Id));
        // Not continued: after the kill come at most the few tokens the owner had stored, then the usage and the finish
        // (a continuation would have streamed up to 195 more).
        Assert.Equal(["usage", "finish"], reader.Events.Skip(before).Where(e => e.Name != "token").Select(e => e.Name));
        Assert.True(reader.Events.Skip(before).Count(e => e.Name == "token") < 10);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_answer_nobody_read_after_its_owner_died_is_not_continued_but_ends_abandoned()
    {
        var quick = new Dictionary<string, string> { ["Chat__Streams__AbandonAfter"] = "00:00:03" };
        await Task.WhenAll(A.RestartAsync(quick), B.RestartAsync(quick));
        try
        {
            var body = Question("Nobody reads me after my server dies", maxTokens: 200);
            var reader = new ResumingReader([A, B]);
            await reader.StartAsync(A, body, events => events.Count(e => e.Name == "token") >= 3, Timeout);
            A.Kill();

            // Longer than the abandon time with no reader anywhere: the answer is over, whoever asks later.
            await Task.Delay(TimeSpan.FromSeconds(5), Timeout);
            var before = reader.Events.Count;
            await reader.ReadToEndAsync(Bound, Timeout, prefer: B);

            Assert.Equal("error", reader.Events[^1].Name);
            Assert.Equal("abandoned", reader.Events[^1].Data.GetProperty("code").GetString());
            Assert.True(reader.Events.Skip(before).Count(e => e.Name == "token") < 10, "the answer was continued");
            Assert.Equal(Enumerable.Range(0, reader.Events.Count).Select(i => i.ToString()), reader.Events.Select(e => e.Id));
        }
        finally
        {
            await Task.WhenAll(A.RestartAsync([]), B.RestartAsync([]));
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Resume_and_stop_from_another_signed_in_user_are_404_on_every_replica_even_after_a_takeover()
    {
        var body = Question("A private answer for one user", maxTokens: 100);
        using var start = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = System.Net.Http.Json.JsonContent.Create(body) };
        start.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", "user-one");
        var owner = await ChatStream.ReadUntilCutAsync(A.Client, start, events => events.Count(e => e.Name == "token") >= 3, Timeout);
        var requestId = owner[0].Data.GetProperty("requestId").GetString()!;

        async Task AssertHiddenAsync()
        {
            foreach (var replica in Cluster.Replicas.Where(r => r.IsRunning))
            {
                foreach (var who in new[] { "user-two", null })
                {
                    using var resume = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}");
                    using var stop = new HttpRequestMessage(HttpMethod.Post, $"/api/chat/stream/{requestId}/stop");
                    if (who is not null)
                    {
                        resume.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", who);
                        stop.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", who);
                    }

                    using var resumed = await replica.Client.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, Timeout);
                    using var stopped = await replica.Client.SendAsync(stop, Timeout);
                    Assert.Equal(HttpStatusCode.NotFound, resumed.StatusCode);
                    Assert.Equal(HttpStatusCode.NotFound, stopped.StatusCode);
                }
            }
        }

        await AssertHiddenAsync();
        A.Kill();

        // The owner reads on elsewhere, which takes the answer over; others still cannot see it.
        using var resumeOwn = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}");
        resumeOwn.Headers.Add("X-MS-CLIENT-PRINCIPAL-ID", "user-one");
        resumeOwn.Headers.Add("Last-Event-ID", owner[^1].Id);
        using var own = await B.Client.SendAsync(resumeOwn, HttpCompletionOption.ResponseHeadersRead, Timeout);
        var rest = await ChatStream.ReadAsync(own, Timeout);
        Assert.Equal("finish", rest[^1].Name);
        await AssertHiddenAsync();
    }
}
