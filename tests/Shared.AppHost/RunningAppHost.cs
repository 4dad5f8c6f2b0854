using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GptAspire.Tests;

/// <summary>
/// The real AppHost started for tests, with the emulator as <c>openai</c>, waited on until every resource is
/// ready. Aspire testing gives every endpoint a random port, so this never collides with a running dev AppHost.
/// Each test assembly's fixture owns one; a fixture may start another with different arguments
/// (<c>--Api:Replicas=2</c>).
/// </summary>
public sealed class RunningAppHost : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private readonly StringBuilder _logs = new();
    private readonly AppHostConsole _console;
    private readonly CancellationTokenSource _stopping = new();

    private RunningAppHost(DistributedApplication app, AppHostConsole console)
    {
        App = app;
        _console = console;
    }

    public DistributedApplication App { get; }

    /// <summary>Starts the AppHost; <paramref name="configure"/> may change the model before it is built.</summary>
    public static Task<RunningAppHost> StartAsync(Action<IDistributedApplicationTestingBuilder>? configure = null) =>
        StartAsync([], configure);

    /// <summary>
    /// Starts the AppHost with command-line <paramref name="arguments"/> (as after <c>dotnet run --</c>, e.g.
    /// <c>--Api:Replicas=2</c>); <paramref name="configure"/> may change the model before it is built.
    /// </summary>
    public static async Task<RunningAppHost> StartAsync(IEnumerable<string> arguments, Action<IDistributedApplicationTestingBuilder>? configure = null)
    {
        using var timeout = new CancellationTokenSource(StartTimeout);
        // An empty connection string overrides any a developer configured: tests always use the emulator.
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.GptAspire_AppHost>(
            ["--ConnectionStrings:openai=", .. arguments], timeout.Token);
        var console = new AppHostConsole();
        builder.Services.AddLogging(logging => logging.AddProvider(console));
        // Every test is the same client (loopback): a budget for the whole suite, not one user's. The per-client
        // limits themselves are proven by the API's functional tests.
        var api = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == "api"));
        foreach (var (name, value) in TestSettings.LimitsOutOfReachEnvironment)
        {
            api.WithEnvironment(name, value);
        }

        configure?.Invoke(builder);
        var host = new RunningAppHost(await builder.BuildAsync(timeout.Token), console);
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
        var emulator = model.Resources.OfType<GptAspire.Hosting.OpenAIEmulatorResource>().Single();
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

    /// <summary>What the AppHost itself logged (its console when run with <c>dotnet run</c>), by category.</summary>
    public IReadOnlyList<(string Category, string Message)> AppHostLogs() => _console.Lines();

    /// <summary>
    /// An HttpClient for a resource's http endpoint. Its timeout (2 minutes unless one is given) bounds each request
    /// up to the response headers; a streamed body is bounded by the reader (<see cref="ChatStream.ReadAsync"/>).
    /// </summary>
    public HttpClient Client(string resource, TimeSpan? timeout = null)
    {
        var client = App.CreateHttpClient(resource, "http");
        client.Timeout = timeout ?? TimeSpan.FromMinutes(2);
        return client;
    }

    /// <summary>
    /// The API instance (its resource id and process id) whose replica id (<c>X-Stream-Replica</c>) is
    /// <paramref name="replicaId"/>: each of the <paramref name="replicas"/> instances is asked on its own port,
    /// read from its process's environment (the resource's snapshot shows the address they share).
    /// </summary>
    public async Task<(string ResourceId, int Pid)> ApiReplicaAsync(string replicaId, int replicas, CancellationToken cancellationToken)
    {
        var instances = new Dictionary<string, int>();
        await foreach (var update in App.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (update.Resource.Name == "api" && update.Snapshot.State?.Text == KnownResourceStates.Running
                && update.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } pid)
            {
                instances[update.ResourceId] = Convert.ToInt32(pid, System.Globalization.CultureInfo.InvariantCulture);
            }

            if (instances.Count == replicas)
            {
                break;
            }
        }

        foreach (var (resourceId, pid) in instances)
        {
            var variables = File.ReadAllText($"/proc/{pid}/environ").Split('\0')
                .Where(v => v.Contains('=')).ToDictionary(v => v[..v.IndexOf('=')], v => v[(v.IndexOf('=') + 1)..]);
            var address = variables.GetValueOrDefault("ASPNETCORE_URLS")?.Split(';')[0] ?? $"http://localhost:{variables["HTTP_PORTS"].Split(';')[0]}";
            using var direct = new HttpClient { BaseAddress = new Uri(address.Replace("*", "localhost", StringComparison.Ordinal).Replace("+", "localhost", StringComparison.Ordinal)) };
            using var info = await direct.GetAsync("/api/info", cancellationToken);
            if (info.Headers.GetValues("X-Stream-Replica").Single() == replicaId)
            {
                return (resourceId, pid);
            }
        }

        throw new InvalidOperationException($"No API instance has the replica id {replicaId}.");
    }

    /// <summary>kill -9 of a resource's process and its children (the process DCP started may be a launcher).</summary>
    public static void KillProcessTree(int pid)
    {
        using var process = System.Diagnostics.Process.GetProcessById(pid);
        process.Kill(entireProcessTree: true);
        process.WaitForExit(TimeSpan.FromSeconds(10));
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

    private sealed class AppHostConsole : ILoggerProvider
    {
        private readonly List<(string, string)> _lines = [];

        public IReadOnlyList<(string Category, string Message)> Lines()
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(AppHostConsole console, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (console._lines)
                {
                    console._lines.Add((category, formatter(state, exception)));
                }
            }
        }
    }
}
