using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>A Debian redis-server on a free loopback port and two API processes that share streams through it.</summary>
public sealed class TwoReplicasFixture(ApiFixture api) : IAsyncLifetime
{
    private ChildProcess? _redis;
    private IAsyncDisposable? _serverA;
    private IAsyncDisposable? _serverB;

    public HttpClient A { get; private set; } = null!;

    public HttpClient B { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        int port;
        (_redis, port) = await Ports.StartOnFreePortAsync(async port =>
        {
            ChildProcess redis;
            try
            {
                redis = ChildProcess.Start("redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], Directory.GetCurrentDirectory());
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("The replica tests need redis-server: apt-get install redis-server", e);
            }

            try
            {
                await Ports.WaitForListenerAsync(port, () => redis.HasExited, "redis-server");
                return (redis, port);
            }
            catch (Exception) when (redis.HasExited)
            {
                await redis.DisposeAsync();
                throw Ports.SaysPortTaken(redis.Output) ? new PortTakenException(port, redis.Output) : new InvalidOperationException($"redis-server exited:\n{redis.Output}");
            }
        });

        var settings = new Dictionary<string, string> { ["ConnectionStrings:streams"] = $"127.0.0.1:{port}" };
        (A, _serverA) = api.StartApi(settings);
        (B, _serverB) = api.StartApi(settings);
    }

    public async ValueTask DisposeAsync()
    {
        A?.Dispose();
        B?.Dispose();
        if (_serverA is not null) await _serverA.DisposeAsync();
        if (_serverB is not null) await _serverB.DisposeAsync();
        if (_redis is not null) await _redis.DisposeAsync();
    }
}

/// <summary>Two API replicas over Redis: an answer started on one is resumed and stopped on the other.</summary>
public class ReplicaTests(ApiFixture api, TwoReplicasFixture replicas) : IClassFixture<TwoReplicasFixture>
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static string ReplicaOf(HttpResponseMessage response) => response.Headers.GetValues("X-Stream-Replica").Single();

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_answer_started_on_one_replica_resumes_on_the_other_with_nothing_lost_or_repeated()
    {
        var body = ChatStream.Body("Share this answer [emulator:delay=50]", maxTokens: 60);
        var (generated, reference) = await ChatStream.PostAsync(replicas.A, body, Timeout);

        var before = await ChatStream.ReadUntilCutAsync(replicas.A,
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) },
            events => events.Count(e => e.Name == "token") >= 10, Timeout);
        var requestId = before[0].Data.GetProperty("requestId").GetString()!;

        using var resume = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}");
        resume.Headers.Add("Last-Event-ID", before[^1].Id);
        using var response = await replicas.B.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, Timeout);
        var rest = await ChatStream.ReadAsync(response, Timeout);

        // The rest came from B, which does not generate: the replica header names the one that served it (as B
        // names itself on a stream it did not start), and B relayed it live while A generated, not after the end.
        using var probeB = await replicas.B.GetAsync($"/api/chat/stream/{reference[0].Data.GetProperty("requestId").GetString()}?lastEventId={reference.Count - 1}", Timeout);
        Assert.Equal(ReplicaOf(probeB), ReplicaOf(response));
        Assert.NotEqual(ReplicaOf(generated), ReplicaOf(response));
        var restTokens = rest.Where(e => e.Name == "token").ToList();
        Assert.True(restTokens[^1].At - restTokens[0].At >= TimeSpan.FromMilliseconds(50 * restTokens.Count / 4),
            $"{restTokens.Count} tokens 50 ms apart arrived within {(restTokens[^1].At - restTokens[0].At).TotalMilliseconds:F0} ms: replayed, not relayed live");
        TestContext.Current.SendDiagnosticMessage($"events 0..{before[^1].Id} from replica {ReplicaOf(generated)}, {rest[0].Id}..{rest[^1].Id} from replica {ReplicaOf(response)}");

        var whole = before.Concat(rest).ToList();
        Assert.Equal(reference.Select(e => e.Id), whole.Select(e => e.Id));
        Assert.Equal(reference.Skip(1).Select(e => e.RawData), whole.Skip(1).Select(e => e.RawData));
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("tool_call")]
    [InlineData("tool_result")]
    public async Task An_answer_with_tool_calls_cut_after_a_tool_event_resumes_on_the_other_replica_with_each_event_once(string cutAfter)
    {
        var body = ChatStream.Body("What is 2^16 - 1? [emulator:delay=20]", maxTokens: 200);
        var (_, reference) = await ChatStream.PostAsync(replicas.A, body, Timeout);
        Assert.Single(reference, e => e.Name == "tool_result");

        var before = await ChatStream.ReadUntilCutAsync(replicas.A,
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) },
            events => events is [.., var last] && last.Name == cutAfter, Timeout);
        var (response, rest) = await ChatStream.ResumeAsync(replicas.B, before[0].Data.GetProperty("requestId").GetString()!, before[^1].Id, Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The same events as an answer read in one go, but for how long the tool ran.
        static string Comparable(ReceivedEvent e) => e.Name == "tool_result" ? e.Data.GetProperty("result").GetRawText() : e.RawData;
        var whole = before.Concat(rest).ToList();
        Assert.Equal(reference.Select(e => (e.Id, e.Name)), whole.Select(e => (e.Id, e.Name)));
        Assert.Equal(reference.Skip(1).Select(Comparable), whole.Skip(1).Select(Comparable));
        Assert.Contains("65535", whole.Text());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Stop_sent_to_the_other_replica_cancels_the_upstream_call()
    {
        using var post = await replicas.A.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Stop me elsewhere [emulator:long] [emulator:delay=50]")) },
            HttpCompletionOption.ResponseHeadersRead, Timeout);
        var reading = new BackgroundRead(post);
        var requestId = await reading.RequestId.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
        await reading.Tokens(2);

        var clock = Stopwatch.StartNew();
        using var stop = await ChatStream.StopAsync(replicas.B, requestId, Timeout);
        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);

        var events = await reading.Done.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
        var traceId = events[0].Data.GetProperty("traceId").GetString()!;
        Assert.Equal("stopped", events[^1].Data.GetProperty("reason").GetString());
        TestContext.Current.SendDiagnosticMessage($"finish stopped {clock.ElapsedMilliseconds} ms after the stop sent to the other replica");

        var recorded = await EmulatorRequests.WaitForTraceAsync(api.Emulator, traceId, r => r.GetProperty("cancelled").GetBoolean(), TimeSpan.FromSeconds(5), Timeout);
        Assert.False(recorded.GetProperty("completed").GetBoolean());

        using var again = await ChatStream.StopAsync(replicas.B, requestId, Timeout);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        using var unknown = await ChatStream.StopAsync(replicas.B, "0123456789abcdef0123456789abcdef", Timeout);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_reader_leaving_the_other_replica_does_not_hold_up_another_reader_of_the_same_answer_there()
    {
        using var post = await replicas.A.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Two readers elsewhere [emulator:delay=50]", maxTokens: 200)) },
            HttpCompletionOption.ResponseHeadersRead, Timeout);
        var origin = new BackgroundRead(post);
        var requestId = await origin.RequestId.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout);

        using var stays = await replicas.B.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}"), HttpCompletionOption.ResponseHeadersRead, Timeout);
        var staying = new BackgroundRead(stays);
        await staying.Tokens(3);

        // A second reader on B comes and goes while the first one reads.
        var left = await ChatStream.ReadUntilCutAsync(replicas.B, new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}"), events => events.Count(e => e.Name == "token") >= 5, Timeout);
        Assert.NotEmpty(left);

        var events = await staying.Done;
        var reference = await origin.Done;
        Assert.Equal(reference.Select(e => e.RawData), events.Select(e => e.RawData));
        // Tokens come every 50 ms for about 10 s: a reader that lost its announcements would get them in batches at
        // the 1 s heartbeat's catch-up, about ten gaps near a second. A busy machine may stall the reader once or twice.
        var gaps = events.Zip(events.Skip(1), (a, b) => b.At - a.At).ToList();
        var longGaps = gaps.Count(g => g >= TimeSpan.FromMilliseconds(800));
        TestContext.Current.SendDiagnosticMessage($"longest gap on the staying reader: {gaps.Max().TotalMilliseconds:F0} ms; {longGaps} of 800 ms or more");
        Assert.True(longGaps <= 3, $"{longGaps} gaps of 800 ms or more: {string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:F0}"))} ms");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_reader_on_the_other_replica_keeps_the_generation_from_being_abandoned()
    {
        var body = ChatStream.Body("Read me elsewhere [emulator:delay=30]", maxTokens: 150);
        var before = await ChatStream.ReadUntilCutAsync(replicas.A,
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) },
            events => events.Count(e => e.Name == "token") >= 1, Timeout);

        // Nobody reads on A any more; B reads for longer than A's 2 s grace time.
        var (_, rest) = await ChatStream.ResumeAsync(replicas.B, before[0].Data.GetProperty("requestId").GetString()!, before[^1].Id, Timeout);
        Assert.Equal("finish", rest[^1].Name);
    }
}
