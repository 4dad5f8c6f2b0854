using System.Net;
using System.Net.Http.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>Replicas share streams through Redis; while it cannot be reached, the API says so with 503, never 500.</summary>
public class StreamStoreOutageTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Without_its_Redis_the_API_answers_503_with_Retry_After_and_stays_alive()
    {
        // A port nobody listens on: Redis is down.
        var port = Ports.Free();

        var (api, server) = fixture.StartApi(new Dictionary<string, string>
        {
            ["ConnectionStrings:streams"] = $"127.0.0.1:{port},abortConnect=false,connectTimeout=500,syncTimeout=1000,asyncTimeout=1000",
        });
        try
        {
            // As the page asks (Accept: text/event-stream): the refusal must still be problem+json.
            api.DefaultRequestHeaders.Accept.ParseAdd("text/event-stream");
            using var start = await api.PostAsJsonAsync("/api/chat/stream", ChatStream.Body("Is anyone sharing?"), Timeout);
            using var resume = await api.GetAsync("/api/chat/stream/0123456789abcdef0123456789abcdef", Timeout);
            using var stop = await api.PostAsync("/api/chat/stream/0123456789abcdef0123456789abcdef/stop", content: null, Timeout);
            foreach (var response in new[] { start, resume, stop })
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
            }

            using var alive = await api.GetAsync("/alive", Timeout);
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        }
        finally
        {
            api.Dispose();
            await server.DisposeAsync();
        }
    }
}
