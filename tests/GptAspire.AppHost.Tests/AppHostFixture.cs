using System.Text;
using GptAspire.AppHost.Tests.Telemetry;
using Microsoft.Extensions.DependencyInjection;

[assembly: AssemblyFixture(typeof(GptAspire.AppHost.Tests.AppHostFixture))]

namespace GptAspire.AppHost.Tests;

/// <summary>
/// The real AppHost, started once for the whole assembly with the emulator as <c>openai</c>. Aspire testing
/// gives every endpoint a random port, so this never collides with a running dev AppHost.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private readonly StringBuilder _logs = new();

    public DistributedApplication App { get; private set; } = null!;

    /// <summary>Receives the traces, logs and metrics of every resource, in place of the dashboard.</summary>
    public OtlpReceiver Telemetry { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.GptAspire_AppHost>(
            ["--ConnectionStrings:openai="], timeout.Token);
        Telemetry = await OtlpReceiver.StartAsync();
        SendTelemetryTo(builder, Telemetry.Endpoint);
        App = await builder.BuildAsync(timeout.Token);
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        await App.StartAsync(timeout.Token);

        var watching = new[] { "openai", "api", "web", "web-install" }
            .Select(name => WatchLogs(logs, name, timeout.Token)).ToArray();
        try
        {
            var notifications = App.ResourceNotifications;
            await notifications.WaitForResourceAsync("web-install", KnownResourceStates.Finished, timeout.Token);
            await Task.WhenAll(
                notifications.WaitForResourceHealthyAsync("openai", timeout.Token),
                notifications.WaitForResourceHealthyAsync("api", timeout.Token),
                notifications.WaitForResourceHealthyAsync("web", timeout.Token));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"The AppHost did not become healthy within {StartTimeout}. Resource logs:\n{ResourceLogs()}", e);
        }

        _ = watching;
    }

    // Every resource that exports OTLP sends it to the test's receiver, quickly, over HTTP/protobuf.
    private static void SendTelemetryTo(IDistributedApplicationTestingBuilder builder, Uri endpoint)
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

    /// <summary>The emulator's generated key, as the AppHost handed it to the API.</summary>
    public async Task<string> EmulatorKeyAsync()
    {
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        var emulator = model.Resources.OfType<Aspire.Hosting.OpenAIEmulatorResource>().Single();
        return (await emulator.Key.GetValueAsync(CancellationToken.None))!;
    }

    /// <summary>Every line the resources wrote so far, for failure messages.</summary>
    public string ResourceLogs()
    {
        lock (_logs)
        {
            return _logs.ToString();
        }
    }

    /// <summary>An HttpClient for a resource with no timeout: some tests stream for longer than 100 s would allow.</summary>
    public HttpClient Client(string resource)
    {
        var client = App.CreateHttpClient(resource, "http");
        client.Timeout = Timeout.InfiniteTimeSpan;
        return client;
    }

    private async Task WatchLogs(ResourceLoggerService service, string resource, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var batch in service.WatchAsync(resource).WithCancellation(CancellationToken.None))
            {
                lock (_logs)
                {
                    foreach (var line in batch)
                    {
                        _logs.Append('[').Append(resource).Append("] ").AppendLine(line.Content);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        _ = cancellationToken;
    }

    public async ValueTask DisposeAsync()
    {
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }

        if (Telemetry is not null)
        {
            await Telemetry.DisposeAsync();
        }
    }
}
