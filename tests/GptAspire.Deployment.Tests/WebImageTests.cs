using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// What the deployed <c>web</c> container does, checked on the image's own files and command (see
/// <see cref="WebImageFixture"/>): the built app with the right cache headers, Server-Sent Events streamed
/// through as they come, and a health check that passes.
/// </summary>
public partial class WebImageTests(WebImageFixture web) : IClassFixture<WebImageFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public void The_image_has_no_development_dependencies()
    {
        var modules = Path.Combine(web.AppDirectory, "node_modules");

        Assert.True(Directory.Exists(Path.Combine(modules, "express")));
        Assert.All(new[] { "vite", "vitest", "typescript", "vue-tsc", "@vitejs" },
            package => Assert.False(Directory.Exists(Path.Combine(modules, package)), $"{package} is installed"));
        Assert.False(Directory.Exists(Path.Combine(web.AppDirectory, "server", "__tests__")));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task It_serves_the_built_page_revalidated_on_every_load()
    {
        using var client = web.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await client.SendAsync(request, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache, $"Cache-Control: {response.Headers.CacheControl}");
        Assert.True(response.Headers.Contains("Content-Security-Policy"));
        var html = await response.Content.ReadAsStringAsync(Cancellation);
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(web.AppDirectory, "dist", "index.html"), Cancellation), html);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Its_hashed_assets_are_cached_for_a_year_as_immutable()
    {
        using var client = web.CreateClient();
        var html = await client.GetStringAsync("/index.html", Cancellation);
        var assets = AssetReference().Matches(html).Select(m => m.Groups["path"].Value).Distinct().ToList();

        Assert.Contains(assets, a => a.EndsWith(".js", StringComparison.Ordinal));
        Assert.Contains(assets, a => a.EndsWith(".css", StringComparison.Ordinal));
        foreach (var asset in assets)
        {
            using var response = await client.GetAsync(asset, Cancellation);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task It_streams_chat_events_through_as_the_api_sends_them()
    {
        using var client = web.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream")
        {
            Content = new StringContent("""{"messages":[{"role":"user","content":"Hello"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("text/event-stream");
        // As a browser asks: the stream must still not be compressed (a compressor holds events back).
        request.Headers.AcceptEncoding.ParseAdd("gzip, deflate, br, zstd");

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Cancellation);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        // What tells Azure Container Apps' Envoy (and any nginx) in front not to buffer the stream.
        Assert.Equal(["no"], response.Headers.GetValues("X-Accel-Buffering"));
        Assert.Null(response.Content.Headers.ContentEncoding.FirstOrDefault());

        var readFrom = Stopwatch.GetTimestamp();
        var events = (await ChatStream.ReadAsync(response, Cancellation))
            .Select(e => (e.Name, SentAt: e.Data.GetProperty("sentAt").GetInt64(), ReceivedAt: readFrom + (long)(e.At.TotalSeconds * Stopwatch.Frequency)))
            .ToList();

        Assert.Equal(["start", .. Enumerable.Repeat("token", FakeChatApi.TokenCount), "finish"], events.Select(e => e.Name));
        // Every event but the last token reached the client before the API sent the finish: nothing on the way held
        // the stream back until it ended (a buffering proxy delivers everything after `finish`). An ordering, not a
        // time limit: a busy machine may delay an event, but a buffer holds them all.
        var timeline = string.Join(", ", events.Select(e =>
            $"{e.Name} sent {Stopwatch.GetElapsedTime(events[0].SentAt, e.SentAt).TotalMilliseconds:F0} ms, received {Stopwatch.GetElapsedTime(events[0].SentAt, e.ReceivedAt).TotalMilliseconds:F0} ms"));
        var finishSentAt = events[^1].SentAt;
        for (var i = 0; i + 2 < events.Count; i++)
        {
            Assert.True(events[i].ReceivedAt < finishSentAt, $"event {i} arrived after the finish was sent: {timeline}");
        }

        Assert.True(Stopwatch.GetElapsedTime(events[0].SentAt, events[^1].SentAt) >= FakeChatApi.TokenInterval * FakeChatApi.TokenCount * 0.9, timeline);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_images_health_check_passes()
    {
        using var client = web.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health", Cancellation)).StatusCode);

        // The HEALTHCHECK command itself, run in the container's environment (PORT).
        var check = DockerfileTests.FinalStage().Single(i => i.Keyword == "HEALTHCHECK").Arguments;
        var command = System.Text.Json.JsonSerializer.Deserialize<string[]>(check[check.IndexOf("CMD [", StringComparison.Ordinal)..]["CMD ".Length..])!;
        await ChildProcess.RunAsync(command[0], command[1..], web.AppDirectory, TimeSpan.FromSeconds(30), web.Environment);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task It_runs_in_production_mode()
    {
        using var client = web.CreateClient();
        using var response = await client.GetAsync("/@vite/client", Cancellation);

        // No Vite dev server behind it (an unknown path gets the page, not Vite's client); the log says so too.
        Assert.NotEqual("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("\"mode\":\"production\"", web.ServerOutput, StringComparison.Ordinal);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task It_exports_traces_with_only_production_dependencies_installed()
    {
        using var client = web.CreateClient();
        using var response = await client.PostAsync("/api/chat/stream",
            new StringContent("""{"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"), Cancellation);
        await response.Content.ReadAsStringAsync(Cancellation);

        await Eventually.UntilAsync(() => web.Api.TelemetryReceived.Contains("traces"),
            $"a trace export from the web server, whose output was:\n{web.ServerOutput}", cancellationToken: Cancellation);
    }

    [GeneratedRegex("(?:src|href)=\"(?<path>/assets/[^\"]+)\"")]
    private static partial Regex AssetReference();
}
