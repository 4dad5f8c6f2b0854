using System.Net;
using System.Net.Http.Json;
using GptAspire.Api.Services.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace GptAspire.Api.FunctionalTests.Takeover;

/// <summary>
/// A tool still running when its replica stops has no result in the stream: the replica that continues the answer
/// runs the call again (its own tool), once, and the answer goes on from that result.
/// </summary>
public class ToolHandOverTests(ApiFixture api)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_call_without_a_result_when_its_replica_stops_is_run_by_the_replica_that_continues()
    {
        await using var redis = await RedisServer.StartAsync();
        // A short lease: each replica learns within 200 ms that the other is alive (and so can hand over to it).
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:streams"] = redis.ConnectionString,
            ["Chat:Streams:TakeoverAfter"] = "00:00:00.600",
        };

        // On A the tool runs until the replica stops (and sees the cancellation); on B it answers at once.
        var startedOnA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelledOnA = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runsOnB = 0;
        var (a, serverA) = api.StartApi(settings, services: services => services.AddChatTool(AIFunctionFactory.Create(async (CancellationToken token) =>
        {
            startedOnA.TrySetResult();
            try
            {
                await Task.Delay(System.Threading.Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                cancelledOnA.TrySetResult();
                throw;
            }

            return "from A";
        }, "lookup")));
        var (b, serverB) = api.StartApi(settings, services: services => services.AddChatTool(AIFunctionFactory.Create(() =>
        {
            Interlocked.Increment(ref runsOnB);
            return new { found = "from B" };
        }, "lookup")));
        await using var _ = serverB;
        using var __ = a;
        using var ___ = b;

        // Both replicas hold a lease, and A has renewed its own since B took one: A knows it can hand over.
        await using (var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
        {
            await Eventually.UntilAsync(async () => await connection.GetDatabase().SortedSetLengthAsync("gptaspire:replicas") >= 2,
                "both replicas to hold a lease", Bounds.Condition, Timeout);
        }

        await Task.Delay(TimeSpan.FromMilliseconds(500), Timeout);

        using var post = await a.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Look it up [emulator:tool=lookup {\"key\": 7}]", maxTokens: 300)) },
            HttpCompletionOption.ResponseHeadersRead, Timeout);
        var before = ChatStream.ReadAsync(post, Timeout);
        await startedOnA.Task.WaitAsync(Bounds.Stream, Timeout);

        // A shuts down gracefully with B alive: it hands the answer over, and its reader's connection ends without a last event.
        await serverA.DisposeAsync();
        var first = await before;
        Assert.Equal(["start", "tool_call"], first.Select(e => e.Name));
        await cancelledOnA.Task.WaitAsync(Bounds.Condition, Timeout);

        var requestId = first[0].Data.GetProperty("requestId").GetString()!;
        var (response, rest) = await ChatStream.ResumeAsync(b, requestId, first[^1].Id, Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        List<ReceivedEvent> events = [.. first, .. rest];
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));
        var result = Assert.Single(events, e => e.Name == "tool_result");
        Assert.Equal(first[1].Data.GetProperty("callId").GetString(), result.Data.GetProperty("callId").GetString());
        Assert.Equal("from B", result.Data.GetProperty("result").GetProperty("found").GetString());
        Assert.Equal(1, runsOnB);
        Assert.Contains("from B", events.Text());
        Assert.Equal("finish", events[^1].Name);
        Assert.Equal("stop", events[^1].Data.GetProperty("reason").GetString());
    }
}
