using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace GptAspire.Api.FunctionalTests;

/// <summary>An upstream that trickles forever, or never lets the API connect, still ends the answer with an error.</summary>
public sealed class StalledUpstreamTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_answer_that_trickles_on_past_MaxAnswerDuration_ends_with_answer_too_long_and_upstream_is_cancelled()
    {
        // A token every 1.5 s never trips the 5 s idle timeout; only the cap on the whole answer ends it.
        await using var api = new ObservedApi(fixture, settings: new Dictionary<string, string> { ["Chat:MaxAnswerDuration"] = "00:00:04" });
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
        await ObservedApi.EventuallyAsync(
            () => api.Measurements.FirstOrDefault(m => m.Instrument == "gptaspire.chat.streams" && m.Tags.GetValueOrDefault("outcome") == "answer_too_long"),
            "gptaspire.chat.streams with outcome answer_too_long");
        Assert.Single(api.Logs.Entries, l => l.Level == LogLevel.Warning && l.Message.Contains("answer_too_long"));
        var recorded = await EmulatorRequests.WaitForTraceAsync(fixture.Emulator, traceId, r => r.GetProperty("cancelled").GetBoolean(), TimeSpan.FromSeconds(5), Timeout);
        Assert.False(recorded.GetProperty("completed").GetBoolean());
    }

    [Fact]
    public async Task An_upstream_that_never_accepts_the_connection_within_the_idle_timeout_ends_with_upstream_timeout()
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
                ["Chat:UpstreamIdleTimeout"] = "00:00:03",
            });
            var clock = Stopwatch.StartNew();
            var (_, events) = await ChatStream.PostAsync(api.Client, ChatStream.Body("Anyone there?"), Timeout);

            Assert.Equal(["start", "error"], events.Select(e => e.Name));
            Assert.Equal("upstream_timeout", events[^1].Data.GetProperty("code").GetString());
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(15));
            var server = await api.ServerSpanAsync(events[0].Data.GetProperty("traceId").GetString()!);
            Assert.Equal("upstream_timeout", server.GetTagItem("error.type"));
        }
        finally
        {
            fillers.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task An_upstream_that_never_accepts_the_connection_ends_with_upstream_connect_timeout_after_the_connect_timeout()
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
                ["Chat:UpstreamConnectTimeout"] = "00:00:01",
                ["Chat:UpstreamIdleTimeout"] = "00:00:30",
            });
            var clock = Stopwatch.StartNew();
            var (_, events) = await ChatStream.PostAsync(api.Client, ChatStream.Body("Anyone there?"), Timeout);

            Assert.Equal(["start", "error"], events.Select(e => e.Name));
            Assert.Equal("upstream_connect_timeout", events[^1].Data.GetProperty("code").GetString());
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(15));
            var server = await api.ServerSpanAsync(events[0].Data.GetProperty("traceId").GetString()!);
            Assert.Equal("upstream_connect_timeout", server.GetTagItem("error.type"));
        }
        finally
        {
            fillers.ForEach(s => s.Dispose());
        }
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
