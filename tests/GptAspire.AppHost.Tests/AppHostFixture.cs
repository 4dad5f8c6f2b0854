using GptAspire.AppHost.Tests.Telemetry;

[assembly: AssemblyFixture(typeof(GptAspire.AppHost.Tests.AppHostFixture))]

namespace GptAspire.AppHost.Tests;

/// <summary>
/// The real AppHost, shared by every test of the assembly, sending its telemetry to <see cref="Telemetry"/>
/// in place of the dashboard.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    private RunningAppHost? _host;

    private RunningAppHost Host => _host ?? throw new InvalidOperationException("The AppHost has not started.");

    public DistributedApplication App => Host.App;

    /// <summary>Receives the traces, logs and metrics of every resource.</summary>
    public OtlpReceiver Telemetry { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Telemetry = await OtlpReceiver.StartAsync();
        _host = await RunningAppHost.StartAsync(builder =>
        {
            SendTelemetryTo(builder, Telemetry.Endpoint);
            // A client that leaves is given 3 s to come back (30 s by default) before its answer is cancelled.
            builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api"))
                .WithEnvironment("Chat__Streams__AbandonAfter", "00:00:03");
        });
    }

    public Task<string> EmulatorKeyAsync() => Host.EmulatorKeyAsync();

    public string ResourceLogs() => Host.ResourceLogs();

    /// <summary>What the AppHost itself logged: its console under <c>dotnet run</c>.</summary>
    public IReadOnlyList<(string Category, string Message)> AppHostLogs() => Host.AppHostLogs();

    /// <summary>An HttpClient with no timeout: some tests stream for longer than HttpClient's default allows.</summary>
    public HttpClient Client(string resource) => Host.Client(resource);

    // Every resource that exports OTLP sends it to the test's receiver, quickly, over HTTP/protobuf.
    internal static void SendTelemetryTo(IDistributedApplicationTestingBuilder builder, Uri endpoint)
    {
        foreach (var resource in builder.Resources.OfType<IResourceWithEnvironment>().Where(r => r.HasAnnotationOfType<OtlpExporterAnnotation>()).ToList())
        {
            builder.CreateResourceBuilder(resource).WithEnvironment(context =>
            {
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint.ToString().TrimEnd('/');
                context.EnvironmentVariables["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
                context.EnvironmentVariables["OTEL_SERVICE_NAME"] = resource.Name;
                context.EnvironmentVariables["OTEL_BSP_SCHEDULE_DELAY"] = "200";
                context.EnvironmentVariables["OTEL_BLRP_SCHEDULE_DELAY"] = "200";
                context.EnvironmentVariables["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
            });
        }
    }

    /// <summary>OTLP request bodies as text to search: protobuf keeps strings as their UTF-8 bytes.</summary>
    public static IEnumerable<(string Source, string Text)> Exported(IEnumerable<byte[]> bodies) =>
        bodies.Select((body, i) => ($"OTLP export #{i}", System.Text.Encoding.Latin1.GetString(body)));

    // The whole run's key search is a test (WholeRunTests), which runs after all the parallel ones.
    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (Telemetry is not null)
        {
            await Telemetry.DisposeAsync();
        }
    }
}
