using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// A redis-server of its own and two API replicas over it with small per-client limits: a burst of
/// <see cref="Burst"/> requests (one more an hour), <see cref="Generations"/> running generations, leases of
/// <see cref="LeaseTime"/>. Each test is a client of its own (X-Forwarded-For from loopback, which the API trusts).
/// </summary>
public sealed class SharedLimitsFixture(ApiFixture api) : IAsyncLifetime
{
    public const int Burst = 8;
    public const int Generations = 2;
    public static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(3);

    private IAsyncDisposable? _serverA;
    private IAsyncDisposable? _serverB;

    public RedisServer Redis { get; private set; } = null!;

    public Uri A { get; private set; } = null!;

    public Uri B { get; private set; } = null!;

    public Dictionary<string, string> Settings => new()
    {
        ["ConnectionStrings:streams"] = Redis.ConnectionString,
        ["Chat:RateLimits:BurstLimit"] = Burst.ToString(),
        ["Chat:RateLimits:RequestsPerPeriod"] = "1",
        ["Chat:RateLimits:ReplenishmentPeriod"] = "01:00:00",
        ["Chat:RateLimits:ConcurrentGenerations"] = Generations.ToString(),
        ["Chat:RateLimits:GenerationLeaseTime"] = LeaseTime.ToString(),
    };

    public async ValueTask InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        HttpClient a, b;
        (a, _serverA) = api.StartApi(Settings);
        (b, _serverB) = api.StartApi(Settings);
        A = a.BaseAddress!;
        B = b.BaseAddress!;
        a.Dispose();
        b.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (_serverA is not null) await _serverA.DisposeAsync();
        if (_serverB is not null) await _serverB.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
    }
}

/// <summary>With Redis, a client's request rate and running generations are counted once for all replicas.</summary>
public class LimitsAcrossReplicasTests(ApiFixture api, SharedLimitsFixture replicas) : IClassFixture<SharedLimitsFixture>
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static async Task<HttpResponseMessage> ChatAsync(Uri replica, string client, string question, int? maxTokens = 1)
    {
        using var http = ApiFixture.ClientAt(replica, client);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body(question, maxTokens)) };
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout);
        await response.Content.LoadIntoBufferAsync(Timeout);
        return response;
    }

    /// <summary>Starts a long answer and reads it in the background until it is stopped or its replica dies.</summary>
    private static async Task<(HttpResponseMessage Response, BackgroundRead Reading, string RequestId)> StartLongAsync(HttpClient http, string question)
    {
        var response = await http.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body(question + " [emulator:long] [emulator:delay=50]")) },
            HttpCompletionOption.ResponseHeadersRead, Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reading = new BackgroundRead(response);
        return (response, reading, await reading.RequestId.Task.WaitAsync(TimeSpan.FromSeconds(10), Timeout));
    }

    private static async Task AssertTooManyAsync(HttpResponseMessage response, string detailPart)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.Contains(detailPart, problem.GetProperty("detail").GetString());
        Assert.Equal((int)retryAfter.Value.TotalSeconds, problem.GetProperty("retryAfterSeconds").GetInt32());
    }

    [Fact]
    public async Task A_clients_request_budget_is_shared_by_the_replicas_not_multiplied_by_them()
    {
        const string client = "198.51.100.61";
        var statuses = new List<HttpStatusCode>();
        var refusals = new List<HttpResponseMessage>();
        for (var i = 0; i < SharedLimitsFixture.Burst + 4; i++)
        {
            var response = await ChatAsync(i % 2 == 0 ? replicas.A : replicas.B, client, $"Question {i}");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refusals.Add(response);
            }
            else
            {
                response.Dispose();
            }
        }

        TestContext.Current.SendDiagnosticMessage($"A, B, A, ...: {string.Join(", ", statuses.Select(s => (int)s))}");
        Assert.Equal(
            Enumerable.Repeat(HttpStatusCode.OK, SharedLimitsFixture.Burst).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 4)),
            statuses);
        foreach (var refused in refusals)
        {
            // The same 429 as a single replica's: the bucket refills one request an hour here.
            await AssertTooManyAsync(refused, "Too many chats in a short time");
            Assert.True(refused.Headers.RetryAfter!.Delta > TimeSpan.FromMinutes(30), $"Retry-After: {refused.Headers.RetryAfter}");
            refused.Dispose();
        }

        // Another client still has its whole budget.
        using var other = await ChatAsync(replicas.B, "198.51.100.71", "My turn");
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task A_clients_running_generations_are_capped_across_the_replicas()
    {
        const string client = "198.51.100.62";
        using var onA = ApiFixture.ClientAt(replicas.A, client);
        using var onB = ApiFixture.ClientAt(replicas.B, client);
        var (responseA, readingA, idA) = await StartLongAsync(onA, "Run on A");
        var (responseB, readingB, idB) = await StartLongAsync(onB, "Run on B");
        try
        {
            using var thirdOnA = await ChatAsync(replicas.A, client, "A third, on A");
            using var thirdOnB = await ChatAsync(replicas.B, client, "A third, on B");
            await AssertTooManyAsync(thirdOnA, "answered at once");
            await AssertTooManyAsync(thirdOnB, "answered at once");

            // The answer running on A ends (stopped from B): its slot is free on both replicas at once.
            using var stop = await ChatStream.StopAsync(onB, idA, Timeout);
            var events = await readingA.Done.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
            Assert.Equal("stopped", events[^1].Data.GetProperty("reason").GetString());
            await Task.Delay(200, Timeout);
            using var afterStop = await ChatAsync(replicas.B, client, "Now there is room");
            Assert.Equal(HttpStatusCode.OK, afterStop.StatusCode);
        }
        finally
        {
            (await ChatStream.StopAsync(onA, idB, Timeout)).Dispose();
            await readingB.Done.WaitAsync(TimeSpan.FromSeconds(10), Timeout);
            responseA.Dispose();
            responseB.Dispose();
        }
    }

    [Fact]
    public async Task The_slots_of_a_replica_killed_mid_generation_are_free_again_within_the_lease_time()
    {
        const string client = "198.51.100.63";
        await using var doomed = await ApiProcess.StartAsync(api, replicas.Settings);
        using var onDoomed = ApiFixture.ClientAt(doomed.Address, client);
        var (first, _, _) = await StartLongAsync(onDoomed, "Run on the doomed replica");
        var (second, _, _) = await StartLongAsync(onDoomed, "Run there too");

        // Longer than a lease: only the dead-to-be replica's renewals keep its slots taken.
        await Task.Delay(SharedLimitsFixture.LeaseTime * 1.5, Timeout);
        using var whileRunning = await ChatAsync(replicas.A, client, "Is there room?");
        await AssertTooManyAsync(whileRunning, "answered at once");

        var clock = doomed.Kill();
        using var justAfterDeath = await ChatAsync(replicas.A, client, "Room now?");
        await AssertTooManyAsync(justAfterDeath, "answered at once");

        // The leases were renewed at most a third of a lease time before the kill: they expire by one lease time.
        await Task.Delay(SharedLimitsFixture.LeaseTime - clock.Elapsed, Timeout);
        HttpStatusCode status;
        do
        {
            using var attempt = await ChatAsync(replicas.A, client, "And now?");
            status = attempt.StatusCode;
            if (status != HttpStatusCode.OK)
            {
                await AssertTooManyAsync(attempt, "answered at once");
                await Task.Delay(250, Timeout);
            }
        }
        while (status != HttpStatusCode.OK && clock.Elapsed < SharedLimitsFixture.LeaseTime + TimeSpan.FromSeconds(1));

        TestContext.Current.SendDiagnosticMessage($"a slot was free again {clock.ElapsedMilliseconds} ms after the kill (lease time {SharedLimitsFixture.LeaseTime.TotalMilliseconds} ms)");
        Assert.Equal(HttpStatusCode.OK, status);
        first.Dispose();
        second.Dispose();
    }
}

/// <summary>The API as a process of its own, so that a test can kill it (SIGKILL) as a node failure would.</summary>
public sealed class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ApiProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<ApiProcess> StartAsync(ApiFixture api, IReadOnlyDictionary<string, string> settings)
    {
        var port = Ports.Free();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "GptAspire.Api.dll")])
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["ConnectionStrings__openai"] = $"Endpoint={new Uri(api.EmulatorAddress, "v1")};Key={ApiFixture.Key};Model=gpt-4o-mini";
        start.Environment["Chat__HeartbeatInterval"] = "00:00:01";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__")] = value;
        }

        var process = Process.Start(start)!;
        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
        var address = new Uri($"http://127.0.0.1:{port}");
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 150; i++)
        {
            try
            {
                using var alive = await http.GetAsync("/alive");
                if (alive.IsSuccessStatusCode)
                {
                    return new ApiProcess(process, address);
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        process.Kill();
        throw new InvalidOperationException("The API process did not answer /alive in 30 s.");
    }

    /// <summary>Kills the process at once (SIGKILL): no graceful shutdown, nothing released. Returns a clock started at the kill.</summary>
    public Stopwatch Kill()
    {
        _process.Kill();
        var clock = Stopwatch.StartNew();
        _process.WaitForExit();
        return clock;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
