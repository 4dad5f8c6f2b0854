extern alias emulator;

using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

[assembly: AssemblyFixture(typeof(GptAspire.Api.FunctionalTests.ApiFixture))]

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// The real emulator and the real API, each on Kestrel over loopback, shared by the whole assembly.
/// The API is started twice: against the emulator's OpenAI route and against its Azure deployment route.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public const string Key = "functional-tests-key";

    private EmulatorFactory? _emulator;
    private ApiFactory? _openAIApi;
    private ApiFactory? _azureApi;
    private ApiFactory? _smallContextApi;
    private ApiFactory? _recordingApi;
    private ApiFactory? _limitsApi;
    private ApiFactory? _untrustedProxyApi;
    private ApiFactory? _limitedApi;
    private ApiFactory? _wrongKeyApi;

    /// <summary>A key the emulator refuses.</summary>
    public const string WrongKey = "wrong-key-7c1d9e3a5b";

    public Uri EmulatorAddress { get; private set; } = null!;

    /// <summary>The API configured with an OpenAI-style connection string.</summary>
    public HttpClient Api { get; private set; } = null!;

    /// <summary>The API configured with an Azure OpenAI connection string (called on the resource's <c>/openai/v1</c>).</summary>
    public HttpClient AzureApi { get; private set; } = null!;

    /// <summary>The API with a 1,000-token context window, for the token budget.</summary>
    public HttpClient SmallContextApi { get; private set; } = null!;

    /// <summary>The API with <c>Chat:RecordMessageContent</c> on.</summary>
    public HttpClient RecordingApi { get; private set; } = null!;

    /// <summary>The API with tight stream limits: 2 live streams, 60 events a stream, finished streams kept 2 s.</summary>
    public HttpClient LimitedApi { get; private set; } = null!;

    public HttpClient Emulator { get; private set; } = null!;

    /// <summary>The API configured with a key the emulator refuses, and its services.</summary>
    public HttpClient WrongKeyApi { get; private set; } = null!;

    public IServiceProvider WrongKeyApiServices => _wrongKeyApi!.Services;
    /// <summary>
    /// The API with small limits (<see cref="Limits"/>) and every other setting at its default (a 1 MiB body).
    /// Loopback is its trusted proxy, so <c>X-Forwarded-For</c> gives each test a client of its own.
    /// </summary>
    public Uri LimitsApiAddress { get; private set; } = null!;

    /// <summary>What the API behind <see cref="LimitsApiAddress"/> logged, from Debug up.</summary>
    public LogSink LimitsApiLogs { get; } = new();

    /// <summary>The API with a trusted proxy that is not loopback: the test's own forwarded headers are not believed.</summary>
    public Uri UntrustedProxyApiAddress { get; private set; } = null!;

    /// <summary>The settings of the API behind <see cref="LimitsApiAddress"/>.</summary>
    public static class Limits
    {
        public const int BurstLimit = 5;
        public const int ConcurrentStreams = 2;
        public const int DefaultMaxTokens = 20;
        public const int MaxOutputTokens = 100;
        public const int MaxPromptTokens = 2000;
        public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(2);
    }

    /// <summary>An HTTP client of the API behind <paramref name="api"/>, seen by it as the client at <paramref name="clientAddress"/>.</summary>
    public static HttpClient ClientAt(Uri api, string? clientAddress)
    {
        var client = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromMinutes(2) };
        if (clientAddress is not null)
        {
            client.DefaultRequestHeaders.Add("X-Forwarded-For", clientAddress);
        }

        return client;
    }

    /// <summary>Starts one more API over the shared emulator, for a test that stops it or changes its settings.</summary>
    public (HttpClient Client, IAsyncDisposable Server) StartApi(
        IReadOnlyDictionary<string, string>? settings = null, LogSink? logs = null, Action<IServiceCollection>? services = null)
    {
        var factory = new ApiFactory($"Endpoint={new Uri(EmulatorAddress, "v1")};Key={Key};Model=gpt-4o-mini", extra: settings, logs: logs, services: services);
        return (new HttpClient { BaseAddress = factory.Start(), Timeout = TimeSpan.FromMinutes(2) }, factory);
    }

    public async ValueTask InitializeAsync()
    {
        _emulator = new EmulatorFactory();
        EmulatorAddress = _emulator.Start();
        Emulator = new HttpClient { BaseAddress = EmulatorAddress };

        _openAIApi = new ApiFactory($"Endpoint={new Uri(EmulatorAddress, "v1")};Key={Key};Model=gpt-4o-mini");
        Api = new HttpClient { BaseAddress = _openAIApi.Start(), Timeout = TimeSpan.FromMinutes(2) };

        _azureApi = new ApiFactory($"Endpoint={EmulatorAddress};Key={Key};Deployment=gpt-4o-mini");
        AzureApi = new HttpClient { BaseAddress = _azureApi.Start(), Timeout = TimeSpan.FromMinutes(2) };

        _smallContextApi = new ApiFactory($"Endpoint={new Uri(EmulatorAddress, "v1")};Key={Key};Model=gpt-4o-mini", contextWindow: 1000);
        SmallContextApi = new HttpClient { BaseAddress = _smallContextApi.Start() };

        _recordingApi = new ApiFactory($"Endpoint={new Uri(EmulatorAddress, "v1")};Key={Key};Model=gpt-4o-mini", recordContent: true);
        RecordingApi = new HttpClient { BaseAddress = _recordingApi.Start() };

        _wrongKeyApi = new ApiFactory($"Endpoint={new Uri(EmulatorAddress, "v1")};Key={WrongKey};Model=gpt-4o-mini");
        WrongKeyApi = new HttpClient { BaseAddress = _wrongKeyApi.Start() };

        _limitsApi = new ApiFactory($"Endpoint={new Uri(EmulatorAddress, "v1")};Key={Key};Model=gpt-4o-mini", extra: new Dictionary<string, string>
        {
            ["Chat:MaxRequestBodyBytes"] = "1048576",
            ["Chat:RateLimits:BurstLimit"] = Limits.BurstLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Chat:RateLimits:RequestsPerPeriod"] = "1",
            ["Chat:RateLimits:ReplenishmentPeriod"] = "01:00:00",
            ["Chat:RateLimits:ConcurrentStreams"] = Limits.ConcurrentStreams.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Chat:DefaultMaxTokens"] = Limits.DefaultMaxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Chat:MaxOutputTokens"] = Limits.MaxOutputTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Chat:MaxPromptTokens"] = Limits.MaxPromptTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Chat:RequestHeadersTimeout"] = Limits.RequestHeadersTimeout.ToString(),
        }, logs: LimitsApiLogs);
        LimitsApiAddress = _limitsApi.Start();

        _untrustedProxyApi = new ApiFactory($"Endpoint={new Uri(EmulatorAddress, "v1")};Key={Key};Model=gpt-4o-mini", extra: new Dictionary<string, string>
        {
            ["ForwardedHeaders:KnownProxies:0"] = "192.0.2.1",
            ["Chat:RateLimits:BurstLimit"] = "2",
            ["Chat:RateLimits:RequestsPerPeriod"] = "1",
            ["Chat:RateLimits:ReplenishmentPeriod"] = "01:00:00",
        });
        UntrustedProxyApiAddress = _untrustedProxyApi.Start();
        _limitedApi = new ApiFactory($"Endpoint={new Uri(EmulatorAddress, "v1")};Key={Key};Model=gpt-4o-mini", extra: new Dictionary<string, string>
        {
            ["Chat:Streams:MaxLiveStreams"] = "2",
            ["Chat:Streams:MaxEventsPerStream"] = "60",
            ["Chat:Streams:RetainFor"] = "00:00:02",
        });
        LimitedApi = new HttpClient { BaseAddress = _limitedApi.Start(), Timeout = TimeSpan.FromMinutes(2) };

        await Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        AzureApi.Dispose();
        SmallContextApi.Dispose();
        RecordingApi.Dispose();
        WrongKeyApi.Dispose();
        LimitedApi.Dispose();
        Emulator.Dispose();
        if (_openAIApi is not null) await _openAIApi.DisposeAsync();
        if (_azureApi is not null) await _azureApi.DisposeAsync();
        if (_smallContextApi is not null) await _smallContextApi.DisposeAsync();
        if (_recordingApi is not null) await _recordingApi.DisposeAsync();
        if (_wrongKeyApi is not null) await _wrongKeyApi.DisposeAsync();
        if (_limitsApi is not null) await _limitsApi.DisposeAsync();
        if (_untrustedProxyApi is not null) await _untrustedProxyApi.DisposeAsync();
        if (_limitedApi is not null) await _limitedApi.DisposeAsync();
        if (_emulator is not null) await _emulator.DisposeAsync();
    }

    /// <summary>An app on real Kestrel over loopback, configured with settings.</summary>
    internal class LoopbackFactory<TEntryPoint>(
        IReadOnlyDictionary<string, string> settings, LogSink? logs = null, string environment = "Testing", Action<IServiceCollection>? services = null)
        : WebApplicationFactory<TEntryPoint>
        where TEntryPoint : class
    {
        public Uri Start()
        {
            // Kestrel's own listen options, not UseKestrel(port): the factory writes a port into the server's addresses after
            // the app is built, while the app's Main goes on to start the server, and on a busy machine Main wins the race
            // ("IServerAddressesFeature.Addresses cannot be modified after the server has started").
            UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
            StartServer();
            return new(Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment(environment);
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }

            if (logs is not null)
            {
                builder.ConfigureLogging(logging => logging.AddProvider(logs).AddFilter<LogSink>(null, LogLevel.Debug));
            }

            if (services is not null)
            {
                builder.ConfigureServices(services);
            }
        }
    }

    private sealed class EmulatorFactory() : LoopbackFactory<emulator::Program>(new Dictionary<string, string>
    {
        ["Emulator:ApiKey"] = Key,
        ["Emulator:TokenDelayMs"] = "5",
    });

    /// <summary>
    /// The API over <paramref name="connectionString"/>. Its per-client limits are out of reach unless
    /// <paramref name="extra"/> sets them: every test of the assembly is the same loopback client.
    /// </summary>
    internal sealed class ApiFactory(
        string connectionString,
        int? contextWindow = null,
        bool recordContent = false,
        IReadOnlyDictionary<string, string>? extra = null,
        LogSink? logs = null,
        string environment = "Testing",
        Action<IServiceCollection>? services = null)
        : LoopbackFactory<Program>(new Dictionary<string, string>
        {
            ["ConnectionStrings:openai"] = connectionString,
            ["Chat:Streams:HeartbeatInterval"] = "00:00:01",
            ["Chat:Streams:UpstreamIdleTimeout"] = "00:00:05",
            ["Chat:MaxRequestBodyBytes"] = "65536",
            ["Chat:ContextWindow"] = contextWindow?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
            ["Chat:RecordMessageContent"] = recordContent ? "true" : "false",
            ["Chat:Streams:AbandonAfter"] = "00:00:02",
        }.Concat(TestSettings.LimitsOutOfReach).Concat(extra ?? new Dictionary<string, string>()).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value), logs, environment, services);
}
