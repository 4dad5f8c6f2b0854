using System.Text;
using Microsoft.Extensions.DependencyInjection;

[assembly: AssemblyFixture(typeof(GptAspire.Web.BrowserTests.AppHostFixture))]

namespace GptAspire.Web.BrowserTests;

/// <summary>
/// The real AppHost, started once for the whole assembly with the emulator as <c>openai</c>. Aspire testing
/// gives every endpoint a random port, so this never collides with a running dev AppHost.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private readonly StringBuilder _logs = new();
    private readonly CancellationTokenSource _stopping = new();

    public DistributedApplication App { get; private set; } = null!;

    /// <summary>The chat page: the <c>web</c> resource's http endpoint.</summary>
    public Uri WebUrl => App.GetEndpoint("web", "http");

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.GptAspire_AppHost>(
            ["--ConnectionStrings:openai="], timeout.Token);
        App = await builder.BuildAsync(timeout.Token);
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        await App.StartAsync(timeout.Token);

        // Logs are kept per resource instance (e.g. "api-x7k2"): follow each instance as it appears.
        _ = WatchAllLogs(logs);
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

    /// <summary>An HttpClient for a resource (the emulator's <c>/_emulator/requests</c>, mostly).</summary>
    public HttpClient Client(string resource)
    {
        var client = App.CreateHttpClient(resource, "http");
        client.Timeout = TimeSpan.FromSeconds(30);
        return client;
    }

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
        if (App is not null)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }

        _stopping.Dispose();
    }
}
