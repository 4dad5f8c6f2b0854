using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GptAspire.Deployment.Tests;

/// <summary>
/// A stand-in for GptAspire.Api behind the web server: <c>POST /api/chat/stream</c> answers with named SSE
/// events (start, four tokens <see cref="TokenInterval"/> apart, finish), each flushed as it is written, with
/// the headers the real API sends. It also takes OTLP/HTTP exports (<c>POST /v1/traces</c>, ...).
/// </summary>
public sealed class FakeChatApi : IAsyncDisposable
{
    public static readonly TimeSpan TokenInterval = TimeSpan.FromMilliseconds(400);
    public const int TokenCount = 4;

    private readonly WebApplication _app;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _telemetry = new();

    private FakeChatApi(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>The OTLP signals received so far (<c>traces</c>, <c>metrics</c>, <c>logs</c>), one per export.</summary>
    public IReadOnlyCollection<string> TelemetryReceived => _telemetry;

    public static async Task<FakeChatApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var api = new FakeChatApi(app);
        app.MapPost("/api/chat/stream", StreamAsync);
        app.MapPost("/v1/{signal}", (string signal) =>
        {
            api._telemetry.Enqueue(signal);
            return Results.Ok();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        api.Url = new Uri(address);
        return api;
    }

    private static async Task StreamAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache, no-transform";
        response.Headers["X-Accel-Buffering"] = "no";
        var id = 0;

        // Each event carries when it was sent (Stopwatch ticks; the tests run in the same process).
        async Task Send(string name, string json)
        {
            json = json.Insert(json.Length - 1, $",\"sentAt\":{System.Diagnostics.Stopwatch.GetTimestamp()}");
            await response.WriteAsync($"event: {name}\ndata: {json}\nid: {id++}\n\n", Encoding.UTF8, context.RequestAborted);
            await response.Body.FlushAsync(context.RequestAborted);
        }

        await Send("start", """{"requestId":"r1","model":"fake"}""");
        for (var i = 0; i < TokenCount; i++)
        {
            await Task.Delay(TokenInterval, context.RequestAborted);
            await Send("token", $$"""{"text":"t{{i}} "}""");
        }

        await Send("finish", """{"reason":"stop"}""");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
