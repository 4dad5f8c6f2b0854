using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;

namespace GptAspire.Api.FunctionalTests;

/// <summary>A Debian redis-server on a free loopback port and two API processes that share streams through it.</summary>
public sealed class TwoReplicasFixture(ApiFixture api) : IAsyncLifetime
{
    private Process? _redis;
    private IAsyncDisposable? _serverA;
    private IAsyncDisposable? _serverB;

    public HttpClient A { get; private set; } = null!;

    public HttpClient B { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var port = FreePort();
        try
        {
            _redis = Process.Start(new ProcessStartInfo("redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("The replica tests need redis-server: apt-get install redis-server", e);
        }

        _redis!.StandardOutput.BaseStream.CopyToAsync(Stream.Null).ToString();
        await WaitForPortAsync(port);

        var settings = new Dictionary<string, string> { ["ConnectionStrings:streams"] = $"127.0.0.1:{port}" };
        (A, _serverA) = api.StartApi(settings);
        (B, _serverB) = api.StartApi(settings);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException($"redis-server did not listen on port {port}.");
    }

    public async ValueTask DisposeAsync()
    {
        A?.Dispose();
        B?.Dispose();
        if (_serverA is not null) await _serverA.DisposeAsync();
        if (_serverB is not null) await _serverB.DisposeAsync();
        if (_redis is { HasExited: false })
        {
            _redis.Kill();
            await _redis.WaitForExitAsync();
        }

        _redis?.Dispose();
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
        var body = ChatStream.Body("Share this answer [emulator:delay=20]", maxTokens: 60);
        var (_, reference) = await ChatStream.PostAsync(replicas.A, body, Timeout);

        var before = await ChatStream.ReadUntilCutAsync(replicas.A,
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(body) },
            events => events.Count(e => e.Name == "token") >= 10, Timeout);
        var requestId = before[0].Data.GetProperty("requestId").GetString()!;

        using var resume = new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}");
        resume.Headers.Add("Last-Event-ID", before[^1].Id);
        using var response = await replicas.B.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead, Timeout);
        var rest = await ChatStream.ReadAsync(response, Timeout);

        using var probeA = await replicas.A.GetAsync($"/api/chat/stream/{requestId}?lastEventId={reference.Count - 1}", Timeout);
        var servedFirst = ReplicaOf(probeA);
        var servedRest = ReplicaOf(response);
        TestContext.Current.SendDiagnosticMessage($"events 0..{before[^1].Id} from replica {servedFirst}, {rest[0].Id}..{rest[^1].Id} from replica {servedRest}");
        Assert.NotEqual(servedFirst, servedRest);

        var whole = before.Concat(rest).ToList();
        Assert.Equal(reference.Select(e => e.Id), whole.Select(e => e.Id));
        Assert.Equal(reference.Skip(1).Select(e => e.RawData), whole.Skip(1).Select(e => e.RawData));
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
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Two readers elsewhere [emulator:delay=50]", maxTokens: 80)) },
            HttpCompletionOption.ResponseHeadersRead, Timeout);
        var origin = new BackgroundRead(post);
        var requestId = await origin.RequestId.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout);

        using var stays = await replicas.B.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}"), HttpCompletionOption.ResponseHeadersRead, Timeout);
        var staying = new BackgroundRead(stays);
        await staying.Tokens(3);

        // A second reader on B comes and goes while the first one reads.
        var left = await ChatStream.ReadUntilCutAsync(replicas.B, new HttpRequestMessage(HttpMethod.Get, $"/api/chat/stream/{requestId}"), events => events.Count(e => e.Name == "token") >= 5, Timeout);
        Assert.NotEmpty(left);

        var events = await staying.Done.WaitAsync(TimeSpan.FromSeconds(30), Timeout);
        var reference = await origin.Done.WaitAsync(TimeSpan.FromSeconds(30), Timeout);
        Assert.Equal(reference.Select(e => e.RawData), events.Select(e => e.RawData));
        // Tokens come every 50 ms: a reader that lost its announcements would wait for the 1 s heartbeat's catch-up.
        var gaps = events.Zip(events.Skip(1), (a, b) => b.At - a.At).ToList();
        TestContext.Current.SendDiagnosticMessage($"longest gap on the staying reader: {gaps.Max().TotalMilliseconds:F0} ms");
        Assert.True(gaps.Max() < TimeSpan.FromMilliseconds(900), $"a gap of {gaps.Max().TotalMilliseconds:F0} ms");
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
