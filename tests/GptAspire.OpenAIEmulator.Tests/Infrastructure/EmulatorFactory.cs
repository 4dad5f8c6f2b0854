using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GptAspire.OpenAIEmulator.Tests.Infrastructure;

/// <summary>The emulator on a real loopback port (Kestrel), so that clients speak real HTTP to it.</summary>
public sealed class EmulatorFactory(IReadOnlyDictionary<string, string?> settings) : WebApplicationFactory<Program>
{
    public const string ApiKey = "test-key-5f1c2a9b7d";

    public static IReadOnlyDictionary<string, string?> DefaultSettings { get; } = new Dictionary<string, string?>
    {
        ["Emulator:ApiKey"] = ApiKey,
        // Fast by default; tests about timing ask for a delay with [emulator:delay=MS].
        ["Emulator:TokenDelayMs"] = "1",
    };

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Starts Kestrel on a free port; throws if the emulator refuses to start.</summary>
    public Uri Start()
    {
        // Kestrel's own listen options, not UseKestrel(port): the factory writes a port into the server's addresses after
        // the app is built, while the app's Main goes on to start the server, and on a busy machine Main wins the race
        // ("IServerAddressesFeature.Addresses cannot be modified after the server has started").
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        BaseAddress = new Uri(addresses.First());
        return BaseAddress;
    }

    public HttpClient CreateHttpClient(bool withKey = true)
    {
        // No header propagation: the emulator's own tracing listens in this process, and the handler would
        // otherwise replace the traceparent a test sets with one of its own.
        var handler = new SocketsHttpHandler { ActivityHeadersPropagator = null };
        var client = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (withKey)
        {
            client.DefaultRequestHeaders.Authorization = new("Bearer", ApiKey);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        // Not Development, so that appsettings.Development.json's key is not picked up.
        builder.UseEnvironment("Testing");
        builder.ConfigureAppConfiguration(configuration => configuration.AddInMemoryCollection(settings));
        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }
}

/// <summary>One emulator for the whole test assembly.</summary>
public sealed class EmulatorFixture : IAsyncLifetime
{
    public EmulatorFactory Factory { get; } = new(EmulatorFactory.DefaultSettings);

    public Uri BaseAddress => Factory.BaseAddress;

    public HttpClient CreateHttpClient(bool withKey = true) => Factory.CreateHttpClient(withKey);

    public ValueTask InitializeAsync()
    {
        Factory.Start();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => Factory.DisposeAsync();
}
