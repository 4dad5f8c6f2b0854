using System.Diagnostics;
using System.Net.Http.Json;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// Through the real AppHost with two API replicas: the replica that generates an answer is killed (-9) mid-answer,
/// and a client that resumes through the one <c>api</c> address gets the whole answer from the other replica.
/// </summary>
[Collection(ReplicasCollection.Name)]
public class TakeoverTests(ReplicasFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Killing_the_replica_that_generates_an_answer_mid_answer_leaves_the_client_one_whole_answer()
    {
        using var api = fixture.Client("api");
        var body = ChatStream.Body("Survive the replica that writes me [emulator:delay=40]", maxTokens: 120);
        var (_, reference) = await ChatStream.PostAsync(api, body, Timeout);
        Assert.Equal("finish", reference[^1].Name);

        using var start = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) };
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        using var post = await api.SendAsync(start, HttpCompletionOption.ResponseHeadersRead, cut.Token);
        var ownerId = post.Headers.GetValues("X-Stream-Replica").Single();
        var before = new List<ReceivedEvent>();
        await using (var stream = await post.Content.ReadAsStreamAsync(cut.Token))
        {
            await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(stream).EnumerateAsync(cut.Token))
            {
                before.Add(new ReceivedEvent(item.EventType, item.EventId ?? "", System.Text.Json.JsonDocument.Parse(item.Data).RootElement.Clone(), TimeSpan.Zero) { RawData = item.Data });
                if (before.Count(e => e.Name == "token") >= 15)
                {
                    break;
                }
            }
        }

        await cut.CancelAsync();
        var requestId = before[0].Data.GetProperty("requestId").GetString()!;
        var owner = await fixture.Host.ApiReplicaAsync(ownerId, ReplicasFixture.Replicas, Timeout);

        try
        {
            RunningAppHost.KillProcessTree(owner.Pid);

            // Resume as the page does: with the last id, through the one address, until the answer ends.
            var events = new List<ReceivedEvent>(before);
            var deadline = Stopwatch.StartNew();
            while (events[^1].Name is not ("finish" or "error") && deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                try
                {
                    var (response, rest) = await ChatStream.ResumeAsync(api, requestId, events[^1].Id, Timeout);
                    if (response.IsSuccessStatusCode)
                    {
                        Assert.NotEqual(ownerId, response.Headers.GetValues("X-Stream-Replica").Single());
                        events.AddRange(rest);
                    }
                }
                catch (HttpRequestException)
                {
                    // The proxy tried the dead replica: ask again.
                }

                await Task.Delay(200, Timeout);
            }

            Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));
            Assert.Equal("finish", events[^1].Name);
            Assert.Equal(1, events.Count(e => e.Name == "usage"));
            Assert.Equal(reference.Text(), events.Text());

            // The continuation has a trace of its own, linked to the one that started the answer, with the second
            // model call's gen_ai span in it.
            var traceId = before[0].Data.GetProperty("traceId").GetString()!;
            var continued = await Eventually.FindAsync(
                () => fixture.Telemetry.Spans.FirstOrDefault(s => s.Name == "chat continue" && s.LinkedTraceIds.Contains(traceId)),
                "the continuation's span, linked to the answer's trace", cancellationToken: Timeout);
            await Eventually.FindAsync(
                () => fixture.Telemetry.Spans.FirstOrDefault(s => s.TraceId == continued.TraceId && s.Attributes.GetValueOrDefault("gen_ai.operation.name") == "chat"),
                "the second call's gen_ai span in the continuation's trace", cancellationToken: Timeout);
        }
        finally
        {
            // The rest of the collection needs both replicas.
            await fixture.App.ResourceCommands.ExecuteCommandAsync(owner.ResourceId, KnownResourceCommands.StartCommand, Timeout);
            await fixture.ApiInstancesAsync(Timeout).WaitAsync(TimeSpan.FromMinutes(2), Timeout);
        }
    }
}
