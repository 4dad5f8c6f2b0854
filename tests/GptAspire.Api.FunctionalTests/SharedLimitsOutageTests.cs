using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// The shared limits fail closed: while Redis cannot be reached, a chat is refused with 503 and <c>Retry-After</c>
/// (never a 500, never let through on a per-replica budget), and it is served again once Redis is back.
/// </summary>
public class SharedLimitsOutageTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static async Task<HttpResponseMessage> ChatAsync(HttpClient api)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body("Are the limits shared?", maxTokens: 1)) };
        request.Headers.Accept.ParseAdd("text/event-stream");
        var response = await api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout);
        await response.Content.LoadIntoBufferAsync(Timeout);
        return response;
    }

    [Fact]
    public async Task While_Redis_is_down_a_chat_gets_503_with_Retry_After_and_is_served_again_when_it_is_back()
    {
        await using var redis = await RedisServer.StartAsync();
        var (api, server) = fixture.StartApi(new Dictionary<string, string>
        {
            ["ConnectionStrings:streams"] = redis.ConnectionString,
            ["Chat:RateLimits:BurstLimit"] = "50",
            ["Chat:RateLimits:ConcurrentGenerations"] = "2",
        });
        try
        {
            using (var before = await ChatAsync(api))
            {
                Assert.Equal(HttpStatusCode.OK, before.StatusCode);
            }

            await redis.KillAsync();
            using var start = await ChatAsync(api);
            using var resume = await api.GetAsync("/api/chat/stream/0123456789abcdef0123456789abcdef", Timeout);
            foreach (var refused in new[] { start, resume })
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
                Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
                Assert.Equal(5, (await refused.Content.ReadFromJsonAsync<JsonElement>(Timeout)).GetProperty("retryAfterSeconds").GetInt32());
            }

            using (var alive = await api.GetAsync("/alive", Timeout))
            {
                Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
            }

            await redis.RestartAsync();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            HttpStatusCode status;
            do
            {
                await Task.Delay(250, Timeout);
                using var attempt = await ChatAsync(api);
                status = attempt.StatusCode;
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{(int)status} while Redis comes back");
            }
            while (status != HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(20));

            TestContext.Current.SendDiagnosticMessage($"served again {clock.ElapsedMilliseconds} ms after Redis restarted");
            Assert.Equal(HttpStatusCode.OK, status);
        }
        finally
        {
            api.Dispose();
            await server.DisposeAsync();
        }
    }
}
