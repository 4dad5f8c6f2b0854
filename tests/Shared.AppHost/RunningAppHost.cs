using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace GptAspire.Tests;

/// <summary>
/// The real AppHost started for tests, with the emulator as <c>openai</c>, waited on until every resource is
/// ready. Aspire testing gives every endpoint a random port, so this never collides with a running dev AppHost.
/// Each test assembly's fixture owns one.
/// </summary>
public sealed class RunningAppHost : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private readonly StringBuilder _logs = new();
    private readonly CancellationTokenSource _stopping = new();

    private RunningAppHost(DistributedApplication app) => App = app;

    public DistributedApplication App { get; }

    /// <summary>Starts the AppHost; <paramref name="configure"/> may change the model before it is built.</summary>
    public static async Task<RunningAppHost> StartAsync(Action<IDistributedApplicationTestingBuilder>? configure = null)
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        // An empty connection string overrides any a developer configured: tests always use the emulator.
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.GptAspire_AppHost>(
            ["--ConnectionStrings:openai="], timeout.Token);
        configure?.Invoke(builder);
        var host = new RunningAppHost(await builder.BuildAsync(timeout.Token));
        await host.App.StartAsync(timeout.Token);

        _ = host.WatchAllLogs(host.App.Services.GetRequiredService<ResourceLoggerService>());
        try
        {
            var notifications = host.App.ResourceNotifications;
            await notifications.WaitForResourceAsync("web-install", KnownResourceStates.Finished, timeout.Token);
            await Task.WhenAll(
                notifications.WaitForResourceHealthyAsync("openai", timeout.Token),
                notifications.WaitForResourceHealthyAsync("api", timeout.Token),
                notifications.WaitForResourceHealthyAsync("web", timeout.Token));
        }
        catch (Exception e)
        {
            var logs = host.ResourceLogs();
            await host.DisposeAsync();
            throw new InvalidOperationException($"The AppHost did not become healthy within {StartTimeout}. Resource logs:\n{logs}", e);
        }

        return host;
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

    /// <summary>An HttpClient for a resource's http endpoint; infinite timeout unless one is given.</summary>
    public HttpClient Client(string resource, TimeSpan? timeout = null)
    {
        var client = App.CreateHttpClient(resource, "http");
        client.Timeout = timeout ?? Timeout.InfiniteTimeSpan;
        return client;
    }

    // Logs are kept per resource instance (e.g. "api-x7k2"): follow each instance as it appears.
    private async Task WatchAllLogs(ResourceLoggerService service)
    {
        var watched = new HashSet<string>();
        try
        {
            await foreach (var update in App.ResourceNotifications.WatchAsync(_stopping.Token))
            {
                if (watched.Add(update.ResourceId))
                {
                    _ = WatchLogs(service, update.Resource.Name, update.ResourceId);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WatchLogs(ResourceLoggerService service, string resource, string resourceId)
    {
        try
        {
            await foreach (var batch in service.WatchAsync(resourceId).WithCancellation(_stopping.Token))
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
        catch (Exception e)
        {
            lock (_logs)
            {
                _logs.Append('[').Append(resource).Append("] log watch failed: ").AppendLine(e.ToString());
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await App.StopAsync();
        await App.DisposeAsync();
        _stopping.Dispose();
    }
}
