using GptAspire.AppHost.Tests.Telemetry;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// A second AppHost, started as <c>dotnet run --project GptAspire.AppHost -- --Api:Replicas=2</c> would be:
/// two API replicas behind one <c>api</c> address, sharing the <c>streams</c> Redis. Only the tests of
/// <see cref="ReplicasCollection"/> start it (once, for all of them), so the rest of the suite does not pay for it.
/// </summary>
public sealed class ReplicasFixture : IAsyncLifetime
{
    public const int Replicas = 2;

    private RunningAppHost? _host;

    public RunningAppHost Host => _host ?? throw new InvalidOperationException("The AppHost has not started.");

    public DistributedApplication App => Host.App;

    /// <summary>Receives the traces, logs and metrics of every resource (each replica with its own instance id).</summary>
    public OtlpReceiver Telemetry { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        if (!GptAspire.Hosting.RedisServerHostingExtensions.IsInstalled())
        {
            throw new InvalidOperationException(GptAspire.Hosting.RedisServerHostingExtensions.InstallHint);
        }

        Telemetry = await OtlpReceiver.StartAsync();
        _host = await RunningAppHost.StartAsync([$"--Api:Replicas={Replicas}"],
            builder => AppHostFixture.SendTelemetryTo(builder, Telemetry.Endpoint));

        using var timeout = new CancellationTokenSource(RunningAppHost.StartTimeout);
        try
        {
            await App.ResourceNotifications.WaitForResourceAsync("streams", KnownResourceStates.Running, timeout.Token);
            await ApiInstancesAsync(timeout.Token);
        }
        catch (OperationCanceledException e)
        {
            throw new InvalidOperationException($"The {Replicas} API replicas did not become healthy. Resource logs:\n{Host.ResourceLogs()}", e);
        }
    }

    /// <summary>The latest snapshot of each API replica, once all of them are healthy.</summary>
    public async Task<IReadOnlyDictionary<string, CustomResourceSnapshot>> ApiInstancesAsync(CancellationToken cancellationToken)
    {
        var instances = new Dictionary<string, CustomResourceSnapshot>();
        await foreach (var update in App.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (update.Resource.Name != "api")
            {
                continue;
            }

            instances[update.ResourceId] = update.Snapshot;
            if (instances.Count == Replicas && instances.Values.All(s => s.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy))
            {
                break;
            }
        }

        return instances;
    }

    /// <summary>An HttpClient with no timeout for a resource's http endpoint.</summary>
    public HttpClient Client(string resource) => Host.Client(resource);

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

/// <summary>Tests that need <see cref="ReplicasFixture"/>: add <c>[Collection(ReplicasCollection.Name)]</c> to a class.</summary>
[CollectionDefinition(Name)]
public sealed class ReplicasCollection : ICollectionFixture<ReplicasFixture>
{
    public const string Name = "Two API replicas";
}
