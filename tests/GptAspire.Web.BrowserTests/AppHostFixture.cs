[assembly: AssemblyFixture(typeof(GptAspire.Web.BrowserTests.AppHostFixture))]

namespace GptAspire.Web.BrowserTests;

/// <summary>The real AppHost, shared by every browser test of the assembly.</summary>
public class AppHostFixture : IAsyncLifetime
{
    private RunningAppHost? _host;

    private RunningAppHost Host => _host ?? throw new InvalidOperationException("The AppHost has not started.");

    public DistributedApplication App => Host.App;

    /// <summary>The chat page: the <c>web</c> resource's http endpoint.</summary>
    public Uri WebUrl => App.GetEndpoint("web", "http");

    /// <summary>The AppHost's command-line arguments.</summary>
    protected virtual string[] Arguments => [];

    public RunningAppHost Running => Host;

    public async ValueTask InitializeAsync() => _host = await RunningAppHost.StartAsync(Arguments);

    public Task<string> EmulatorKeyAsync() => Host.EmulatorKeyAsync();

    public string ResourceLogs() => Host.ResourceLogs();

    /// <summary>An HttpClient for a resource (the emulator's <c>/_emulator/requests</c>, mostly).</summary>
    public HttpClient Client(string resource) => Host.Client(resource, TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

/// <summary>A second AppHost with two API replicas over Redis, for the tests of a replica dying under the page.</summary>
public sealed class ReplicasAppHostFixture : AppHostFixture
{
    public const int Replicas = 2;

    protected override string[] Arguments => [$"--Api:Replicas={Replicas}"];
}
