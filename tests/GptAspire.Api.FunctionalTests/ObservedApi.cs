using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// One more API over the shared emulator, on Kestrel over loopback, with what an operator would see of it: its
/// logs (every level), every span of the process (tests pick theirs by trace id) and the measurements of its own
/// meters. Dispose it at the end of the test.
/// </summary>
public sealed class ObservedApi : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly ActivityListener _spans;
    private readonly MeterListener _meters = new();

    public ObservedApi(ApiFixture fixture, string key = ApiFixture.Key, IReadOnlyDictionary<string, string>? settings = null)
    {
        _settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:openai"] = $"Endpoint={new Uri(fixture.EmulatorAddress, "v1")};Key={key};Model=gpt-4o-mini",
            ["Chat:Streams:HeartbeatInterval"] = "00:00:01",
            // Long enough for a cold first call on a busy machine; tests of the idle timeout set their own.
            ["Chat:Streams:UpstreamIdleTimeout"] = "00:00:30",
            ["Chat:Streams:AbandonAfter"] = "00:00:02",
        }.Concat(TestSettings.LimitsOutOfReach).Concat(settings ?? new Dictionary<string, string>()).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

        _spans = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Spans.Enqueue,
        };
        ActivitySource.AddActivityListener(_spans);

        // Kestrel's own listen options, not UseKestrel(port): the factory writes a port into the server's addresses after
        // the app is built, while the app's Main goes on to start the server, and on a busy machine Main wins the race
        // ("IServerAddressesFeature.Addresses cannot be modified after the server has started").
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        StartServer();
        Client = new HttpClient
        {
            BaseAddress = new(Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First()),
            Timeout = TimeSpan.FromMinutes(2),
        };

        // Only this API's meters: other APIs of the test process record into meters of their own.
        var meterFactory = Services.GetRequiredService<IMeterFactory>();
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == meterFactory)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            Measurements.Enqueue(new Measurement(instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => TagText(t.Value)))));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            Measurements.Enqueue(new Measurement(instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => TagText(t.Value)))));
        _meters.Start();
    }

    public HttpClient Client { get; }

    public LogSink Logs { get; } = new();

    /// <summary>Spans of the whole test process that ended since this API started.</summary>
    public ConcurrentQueue<Activity> Spans { get; } = new();

    public ConcurrentQueue<Measurement> Measurements { get; } = new();

    /// <summary>
    /// The API's server span of the POST that started the stream with trace id <paramref name="traceId"/>, once it ended
    /// (the emulator's server span, in this process too, carries the same trace id).
    /// </summary>
    public Task<Activity> ServerSpanAsync(string traceId) =>
        Eventually.FindAsync(() => Spans.FirstOrDefault(a => a.Kind == ActivityKind.Server && a.TraceId.ToHexString() == traceId
            && a.GetTagItem("http.request.method") as string == "POST" && a.GetTagItem("http.route") as string == "/api/chat/stream"),
            $"the API's POST server span in trace {traceId}");

    /// <summary>Everything an operator could read of a span: its name, status, tags, events and links.</summary>
    public static string Describe(Activity span) => string.Join("\n", new[]
        {
            $"{span.Source.Name} {span.OperationName} {span.DisplayName} {span.Status} {span.StatusDescription}",
        }
        .Concat(span.TagObjects.Select(t => $"{t.Key}={t.Value}"))
        .Concat(span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name} {t.Key}={t.Value}")))
        .Concat(span.Baggage.Select(b => $"baggage {b.Key}={b.Value}")));

    /// <summary>Everything an operator could read of a log entry: its category, message and exception.</summary>
    public static string Describe(LogEntry entry) => $"{entry.Category} {entry.Level} {entry.Message} {entry.Exception}";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.AddProvider(Logs).AddFilter<LogSink>(null, LogLevel.Trace));
    }

    public override async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await base.DisposeAsync();
        _spans.Dispose();
        _meters.Dispose();
    }

    /// <summary>One measurement of a counter of this API.</summary>
    /// <summary>A measurement; an array attribute's value (<c>gen_ai.response.finish_reasons</c>) reads as JSON, e.g. <c>["stop"]</c>.</summary>
    public sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, string?> Tags);

    private static string? TagText(object? value) =>
        value is string[] values ? System.Text.Json.JsonSerializer.Serialize(values) : value?.ToString();
}
