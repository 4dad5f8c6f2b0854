using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using GptAspire.Api.Apis;
using Limits = GptAspire.Api.FunctionalTests.ApiFixture.Limits;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// One client cannot spend the key without limit: per-client request rate and open streams (429 with
/// Retry-After), a server-side cap on answer and prompt tokens, and who counts as a client.
/// Each test is a client of its own (its own X-Forwarded-For address), so that none spends another's budget.
/// </summary>
public class ClientLimitsTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private HttpClient Client(string address) => ApiFixture.ClientAt(fixture.LimitsApiAddress, address);

    private static async Task<HttpResponseMessage> ChatAsync(HttpClient client, string question, int? maxTokens = 1)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body(question, maxTokens)) };
        // As the page (fetch-event-source) asks: the refusals must still be problem+json.
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout);
        await response.Content.LoadIntoBufferAsync(Timeout);
        return response;
    }

    private static async Task AssertTooManyRequests(HttpResponseMessage response, string detailPart)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var retryAfter = response.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.True(retryAfter >= TimeSpan.FromSeconds(1), $"Retry-After: {retryAfter}");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Contains(detailPart, problem.GetProperty("detail").GetString());
        Assert.Equal((int)retryAfter.Value.TotalSeconds, problem.GetProperty("retryAfterSeconds").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Chats_in_a_row_beyond_the_burst_get_429_with_Retry_After()
    {
        using var client = Client("198.51.100.1");
        for (var i = 0; i < Limits.BurstLimit; i++)
        {
            using var accepted = await ChatAsync(client, $"Question {i}");
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        using var refused = await ChatAsync(client, "One more");

        await AssertTooManyRequests(refused, "Too many chats in a short time");
        Assert.True(refused.Headers.RetryAfter!.Delta > TimeSpan.FromMinutes(30), "the bucket refills one request an hour in this test");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Another_client_keeps_its_own_budget()
    {
        using var greedy = Client("198.51.100.2");
        for (var i = 0; i <= Limits.BurstLimit; i++)
        {
            (await ChatAsync(greedy, "Spend it")).Dispose();
        }

        using var refused = await ChatAsync(greedy, "Spend it");
        using var other = await ChatAsync(Client("198.51.100.3"), "My turn");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_spent_budget_comes_back_by_RequestsPerPeriod_each_period_a_minute_by_default()
    {
        // The default period: a client that spent its burst is told to come back within the minute.
        var (byDefault, defaultServer) = fixture.StartApi(new Dictionary<string, string>
        {
            ["Chat:RateLimits:BurstLimit"] = "1",
            ["Chat:RateLimits:RequestsPerPeriod"] = "1",
        });
        await using (defaultServer)
        using (byDefault)
        {
            (await ChatAsync(byDefault, "Spend it")).Dispose();
            using var refused = await ChatAsync(byDefault, "Again");
            await AssertTooManyRequests(refused, "Too many chats in a short time");
            Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        }

        // A short period, to see the budget come back: one request each period, no more.
        var (api, server) = fixture.StartApi(new Dictionary<string, string>
        {
            ["Chat:RateLimits:BurstLimit"] = "2",
            ["Chat:RateLimits:RequestsPerPeriod"] = "1",
            ["Chat:RateLimits:ReplenishmentPeriod"] = "00:00:02",
        });
        await using (server)
        using (api)
        {
            for (var i = 0; i < 2; i++)
            {
                using var accepted = await ChatAsync(api, $"Burst {i}");
                Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
            }

            using (var refused = await ChatAsync(api, "Too soon"))
            {
                await AssertTooManyRequests(refused, "Too many chats in a short time");
                Assert.True(refused.Headers.RetryAfter!.Delta <= TimeSpan.FromSeconds(2), $"Retry-After: {refused.Headers.RetryAfter}");
            }

            await Eventually.UntilAsync(async () =>
            {
                using var retry = await ChatAsync(api, "Later");
                return retry.StatusCode == HttpStatusCode.OK;
            }, "a chat accepted once the period added a request back", every: TimeSpan.FromMilliseconds(250), cancellationToken: Timeout);

            // One came back, so the next is refused again (unless the period just turned: then it is the one after).
            using var next = await ChatAsync(api, "And another");
            using var afterNext = next.StatusCode == HttpStatusCode.OK ? await ChatAsync(api, "And another") : null;
            Assert.Equal(HttpStatusCode.TooManyRequests, (afterNext ?? next).StatusCode);
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Streams_open_at_once_beyond_the_limit_get_429_until_one_ends()
    {
        // An API of its own with a burst out of reach: the test polls for the freed place without spending a budget.
        var (api, server) = fixture.StartApi(new Dictionary<string, string>
        {
            ["Chat:RateLimits:ConcurrentStreams"] = Limits.ConcurrentStreams.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await using var apiServer = server;
        api.Dispose();
        // A left stream's connection is closed at once rather than drained for reuse, as a closed tab's would be.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = api.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add("X-Forwarded-For", "198.51.100.4");
        var open = new List<(HttpResponseMessage Response, Stream Body)>();
        try
        {
            for (var i = 0; i < Limits.ConcurrentStreams; i++)
            {
                var response = await client.SendAsync(
                    new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Take your time [emulator:long] [emulator:delay=200]", 100)) },
                    HttpCompletionOption.ResponseHeadersRead, Timeout);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                open.Add((response, await response.Content.ReadAsStreamAsync(Timeout)));
            }

            using var refused = await ChatAsync(client, "And one more");
            await AssertTooManyRequests(refused, "streaming at once");

            // The client leaves one stream: its place is free once the API has ended that request.
            open[0].Body.Dispose();
            open[0].Response.Dispose();
            open.RemoveAt(0);
            await Eventually.UntilAsync(async () =>
            {
                using var accepted = await ChatAsync(client, "Now?");
                return accepted.StatusCode == HttpStatusCode.OK;
            }, "a chat accepted once the left stream's place was free", every: TimeSpan.FromMilliseconds(250), cancellationToken: Timeout);
        }
        finally
        {
            foreach (var (response, body) in open)
            {
                body.Dispose();
                response.Dispose();
            }
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Generations_left_running_count_against_the_client_until_they_end()
    {
        var (api, server) = fixture.StartApi(new Dictionary<string, string>
        {
            ["Chat:RateLimits:ConcurrentGenerations"] = "2",
            ["Chat:RateLimits:ConcurrentStreams"] = "100",
            ["Chat:RateLimits:BurstLimit"] = "100",
            ["Chat:Streams:AbandonAfter"] = "00:01:00",
        });
        try
        {
            api.DefaultRequestHeaders.Add("X-Forwarded-For", "198.51.100.77");
            // Two answers started and left at once: they go on generating, and paying, without their requests.
            var ids = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                var before = await ChatStream.ReadUntilCutAsync(api,
                    new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Keep going [emulator:long] [emulator:delay=200]", 100)) },
                    events => events.Count >= 1, Timeout);
                ids.Add(before[0].Data.GetProperty("requestId").GetString()!);
            }

            using var refused = await ChatAsync(api, "A third one");
            await AssertTooManyRequests(refused, "answered at once");

            // Another client is not affected.
            using var other = ApiFixture.ClientAt(api.BaseAddress!, "198.51.100.78");
            using var theirs = await ChatAsync(other, "Mine");
            Assert.Equal(HttpStatusCode.OK, theirs.StatusCode);

            using var stop = await ChatStream.StopAsync(api, ids[0], Timeout);
            Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
            await Eventually.UntilAsync(async () =>
            {
                using var accepted = await ChatAsync(api, "Now?");
                return accepted.StatusCode == HttpStatusCode.OK;
            }, "a chat accepted once the stopped generation ended", every: TimeSpan.FromMilliseconds(250), cancellationToken: Timeout);
            using var _ = await ChatStream.StopAsync(api, ids[1], Timeout);
        }
        finally
        {
            api.Dispose();
            await server.DisposeAsync();
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_signed_in_user_passed_on_by_the_web_server_is_the_client_whatever_the_address()
    {
        using var alice = Client("198.51.100.5");
        alice.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL-ID", "alice-0001");
        using var bob = Client("198.51.100.5");
        bob.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL-ID", "bob-0002");

        for (var i = 0; i < Limits.BurstLimit; i++)
        {
            (await ChatAsync(alice, "Alice asks")).Dispose();
        }

        using var aliceRefused = await ChatAsync(alice, "Alice again");
        using var bobAccepted = await ChatAsync(bob, "Bob, same address");

        Assert.Equal(HttpStatusCode.TooManyRequests, aliceRefused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bobAccepted.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task From_an_untrusted_peer_neither_X_Forwarded_For_nor_the_principal_header_chooses_the_partition()
    {
        // This API trusts only 192.0.2.1 as its proxy: the test, on loopback, is a client like any other.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var client = ApiFixture.ClientAt(fixture.UntrustedProxyApiAddress, $"203.0.113.{i + 10}");
            client.DefaultRequestHeaders.Add("X-MS-CLIENT-PRINCIPAL-ID", $"user-{i}");
            using var response = await ChatAsync(client, "Who am I?");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_chat_without_maxTokens_is_capped_by_the_server_default()
    {
        using var client = Client("198.51.100.6");

        var (response, events) = await ChatStream.PostAsync(client, ChatStream.Body("Tell me everything [emulator:long] [emulator:delay=0]"), Timeout);
        using var _ = response;

        Assert.Equal(Limits.DefaultMaxTokens, events[0].Data.GetProperty("maxTokens").GetInt32());
        Assert.Equal("length", events[^1].Data.GetProperty("reason").GetString());
        Assert.Equal(Limits.DefaultMaxTokens, events.Single(e => e.Name == "usage").Data.GetProperty("completionTokens").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task MaxTokens_over_the_server_maximum_is_a_400_naming_maxTokens()
    {
        using var client = Client("198.51.100.7");

        using var response = await ChatAsync(client, "Hi", maxTokens: Limits.MaxOutputTokens + 1);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.Equal($"maxTokens must be between 1 and {Limits.MaxOutputTokens}.", problem.GetProperty("errors").GetProperty("maxTokens")[0].GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_prompt_over_the_server_maximum_is_a_400_naming_messages()
    {
        using var client = Client("198.51.100.8");

        using var response = await ChatAsync(client, string.Join(' ', Enumerable.Repeat("word", Limits.MaxPromptTokens)), maxTokens: null);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.Contains($"over {Limits.MaxPromptTokens} tokens", problem.GetProperty("errors").GetProperty("messages")[0].GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Info_shows_the_token_limits()
    {
        using var client = Client("198.51.100.9");

        var info = await client.GetFromJsonAsync<JsonElement>("/api/info", Timeout);

        Assert.Equal(Limits.MaxPromptTokens, info.GetProperty("maxPromptTokens").GetInt32());
        Assert.Equal(Limits.DefaultMaxTokens, info.GetProperty("defaultMaxTokens").GetInt32());
        Assert.Equal(Limits.MaxOutputTokens, info.GetProperty("maxOutputTokens").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_megabyte_of_one_letter_is_refused_at_once_and_the_API_stays_responsive()
    {
        using var client = Client("198.51.100.10");
        var envelope = """{"messages":[{"role":"user","content":""}]}""";
        var body = envelope.Insert(envelope.IndexOf("\"\"", StringComparison.Ordinal) + 1, new string('a', (1 << 20) - envelope.Length));
        Assert.Equal(1 << 20, Encoding.UTF8.GetByteCount(body));

        var timings = new List<double>();
        HttpResponseMessage? response = null;
        for (var i = 0; i < 3; i++) // the first includes warming up (JIT) on a fresh API
        {
            response?.Dispose();
            var clock = Stopwatch.StartNew();
            response = await client.PostAsync("/api/chat/stream", new StringContent(body, Encoding.UTF8, "application/json"), Timeout);
            timings.Add(clock.Elapsed.TotalMilliseconds);
        }

        // Another client measures the baseline and checks the API still answers: this one has spent its burst.
        using var other = Client("198.51.100.13");
        var baseline = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            using var small = await other.PostAsync("/api/chat/stream", new StringContent("{}", Encoding.UTF8, "application/json"), Timeout);
            baseline.Add(clock.Elapsed.TotalMilliseconds);
        }

        TestContext.Current.TestOutputHelper!.WriteLine(
            $"API, 1 MiB body of one letter: {(int)response!.StatusCode} in {string.Join(", ", timings.Select(t => $"{t:F0} ms"))}; " +
            $"a 2-byte body: {string.Join(", ", baseline.Select(t => $"{t:F0} ms"))} (sent and answered over loopback)");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);
        Assert.Contains($"over {Limits.MaxPromptTokens} tokens", problem.GetProperty("errors").GetProperty("messages")[0].GetString());

        response.Dispose();
        using var health = await other.GetAsync("/health", Timeout);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var chat = await ChatAsync(other, "Still there?");
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_body_that_trickles_in_gets_408_logged_below_warning_never_500()
    {
        using var socket = await ConnectAsync();
        var head = $"POST /api/chat/stream HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Forwarded-For: 198.51.100.11\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head), Timeout);

        var statusLine = await TrickleUntilAnsweredAsync(socket, "{\"messages\":[{\"role\":\"user\",\"content\":\"");

        Assert.StartsWith("HTTP/1.1 408", statusLine);
        Assert.DoesNotContain(fixture.LimitsApiLogs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning && e.Exception is Microsoft.AspNetCore.Http.BadHttpRequestException);
        Assert.Contains(fixture.LimitsApiLogs.Entries, e => e.Category.EndsWith("BadRequestExceptionHandler", StringComparison.Ordinal) && e.Message.Contains("408"));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Headers_that_trickle_in_get_408()
    {
        using var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes("GET /api/info HTTP/1.1\r\nHost: localhost\r\n"), Timeout);

        var statusLine = await TrickleUntilAnsweredAsync(socket, "X-Slow-Header: " + new string('z', 100));

        Assert.StartsWith("HTTP/1.1 408", statusLine);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_cross_origin_preflight_gets_no_Access_Control_Allow_Origin()
    {
        using var client = Client("198.51.100.12");
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/chat/stream");
        preflight.Headers.Add("Origin", "https://attacker.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        using var post = new HttpRequestMessage(HttpMethod.Get, "/api/info");
        post.Headers.Add("Origin", "https://attacker.example");

        using var preflightResponse = await client.SendAsync(preflight, Timeout);
        using var getResponse = await client.SendAsync(post, Timeout);

        Assert.False(preflightResponse.IsSuccessStatusCode, $"preflight answered {(int)preflightResponse.StatusCode}");
        Assert.DoesNotContain(preflightResponse.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(getResponse.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    private Task<Socket> ConnectAsync() => RawHttp.ConnectAsync(fixture.LimitsApiAddress, Timeout);

    /// <summary>Sends <paramref name="text"/> one byte a second until the server answers; returns its status line.</summary>
    private static async Task<string> TrickleUntilAnsweredAsync(Socket socket, string text)
    {
        var buffer = new byte[4096];
        foreach (var b in Encoding.ASCII.GetBytes(text))
        {
            try
            {
                await socket.SendAsync(new[] { b }, Timeout);
            }
            catch (SocketException)
            {
                break; // the server may close the connection right after answering
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
            wait.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                var read = await socket.ReceiveAsync(buffer, wait.Token);
                if (read > 0)
                {
                    return Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
                }
            }
            catch (OperationCanceledException) when (!Timeout.IsCancellationRequested)
            {
            }
        }

        var last = await socket.ReceiveAsync(buffer, Timeout);
        return Encoding.ASCII.GetString(buffer, 0, last).Split("\r\n")[0];
    }
}
