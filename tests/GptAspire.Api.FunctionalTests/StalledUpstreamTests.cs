using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace GptAspire.Api.FunctionalTests;

/// <summary>An upstream that trickles forever, or never lets the API connect, still ends the answer with an error.</summary>
public sealed class StalledUpstreamTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_answer_that_trickles_on_past_MaxAnswerDuration_ends_with_answer_too_long_and_upstream_is_cancelled()
    {
        // A token every 1.5 s never trips the 5 s idle timeout; only the cap on the whole answer ends it.
        await using var api = new ObservedApi(fixture, settings: new Dictionary<string, string> { ["Chat:Streams:MaxAnswerDuration"] = "00:00:04" });
        var clock = Stopwatch.StartNew();

        var (_, events) = await ChatStream.PostAsync(api.Client, ChatStream.Body("Trickle [emulator:long] [emulator:delay=1500]"), Timeout);

        var elapsed = clock.Elapsed;
        Assert.Equal("error", events[^1].Name);
        Assert.Equal("answer_too_long", events[^1].Data.GetProperty("code").GetString());
        Assert.Single(events, e => e.Name is "error" or "finish");
        Assert.InRange(events.Count(e => e.Name == "token"), 2, 4);
        Assert.InRange(elapsed, TimeSpan.FromSeconds(3.5), TimeSpan.FromSeconds(15));

        var traceId = events[0].Data.GetProperty("traceId").GetString()!;
        var server = await api.ServerSpanAsync(traceId);
        Assert.Equal("answer_too_long", server.GetTagItem("error.type"));
        await Eventually.FindAsync(
            () => api.Measurements.FirstOrDefault(m => m.Instrument == "gptaspire.chat.streams" && m.Tags.GetValueOrDefault("error.type") == "answer_too_long"),
            "gptaspire.chat.streams with error.type answer_too_long", cancellationToken: Timeout);
        Assert.Single(api.Logs.Entries, l => l.Level == LogLevel.Warning && l.Message.Contains("answer_too_long"));
        var recorded = await EmulatorRequests.WaitForTraceAsync(fixture.Emulator, traceId, r => r.GetProperty("cancelled").GetBoolean(), TimeSpan.FromSeconds(5), Timeout);
        Assert.False(recorded.GetProperty("completed").GetBoolean());
    }

    [Theory(Timeout = Bounds.TestMs)]
    // The idle clock runs from the start, connecting included: with a shorter idle timeout, that one ends it.
    [InlineData("00:00:10", "00:00:03", "upstream_timeout", 2.5)]
    // The connect timeout (Chat:UpstreamConnectTimeout) ends a hung connect on its own, with its own code.
    [InlineData("00:00:01", "00:00:30", "upstream_connect_timeout", 0.9)]
    public async Task An_upstream_that_never_accepts_the_connection_ends_with_its_own_code(
        string connectTimeout, string idleTimeout, string code, double atLeastSeconds)
    {
        // A listener whose accept queue is full: the kernel drops further SYNs, so a connect neither succeeds nor fails.
        using var blackhole = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blackhole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        blackhole.Listen(1);
        var endpoint = (IPEndPoint)blackhole.LocalEndPoint!;
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 8 && await ConnectsWithinAsync(endpoint, TimeSpan.FromMilliseconds(500), fillers); i++)
            {
            }

            Assert.False(await ConnectsWithinAsync(endpoint, TimeSpan.FromSeconds(1), fillers), "The accept queue never filled: connects still complete.");

            await using var api = new ObservedApi(fixture, settings: new Dictionary<string, string>
            {
                ["ConnectionStrings:openai"] = $"Endpoint=http://127.0.0.1:{endpoint.Port}/v1;Key={ApiFixture.Key};Model=gpt-4o-mini",
                ["Chat:UpstreamConnectTimeout"] = connectTimeout,
                ["Chat:Streams:UpstreamIdleTimeout"] = idleTimeout,
            });
            var clock = Stopwatch.StartNew();
            var (_, events) = await ChatStream.PostAsync(api.Client, ChatStream.Body("Anyone there?"), Timeout);

            Assert.Equal(["start", "error"], events.Select(e => e.Name));
            Assert.Equal(code, events[^1].Data.GetProperty("code").GetString());
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(atLeastSeconds), TimeSpan.FromSeconds(20));
            var server = await api.ServerSpanAsync(events[0].Data.GetProperty("traceId").GetString()!);
            Assert.Equal(code, server.GetTagItem("error.type"));
        }
        finally
        {
            fillers.ForEach(s => s.Dispose());
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Answers_beyond_the_cap_on_upstream_connections_wait_for_a_free_one()
    {
        await using var api = new ObservedApi(fixture, settings: new Dictionary<string, string>
        {
            ["Chat:MaxUpstreamConnections"] = "1",
        });

        // Two answers at once over one allowed connection: the second call reaches OpenAI only when the first is done.
        var answers = await Task.WhenAll(Enumerable.Range(0, 2).Select(i =>
            ChatStream.PostAsync(api.Client, ChatStream.Body($"One at a time {i} [emulator:delay=20]", maxTokens: 25), Timeout)));

        var calls = new List<System.Text.Json.JsonElement>();
        foreach (var (_, events) in answers)
        {
            Assert.Equal("finish", events[^1].Name);
            var traceId = events[0].Data.GetProperty("traceId").GetString()!;
            calls.Add(await EmulatorRequests.WaitForTraceAsync(fixture.Emulator, traceId, r => r.GetProperty("completed").GetBoolean(), TimeSpan.FromSeconds(10), Timeout));
        }

        calls.Sort((a, b) => a.GetProperty("startedAt").GetDateTimeOffset().CompareTo(b.GetProperty("startedAt").GetDateTimeOffset()));
        Assert.True(calls[1].GetProperty("startedAt").GetDateTimeOffset() >= calls[0].GetProperty("endedAt").GetDateTimeOffset(),
            $"the second call started at {calls[1].GetProperty("startedAt")}, before the first ended at {calls[0].GetProperty("endedAt")}");
    }

    private static async Task<bool> ConnectsWithinAsync(IPEndPoint endpoint, TimeSpan within, List<Socket> keep)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        keep.Add(socket);
        using var timeout = new CancellationTokenSource(within);
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
