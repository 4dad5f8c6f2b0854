using System.Diagnostics;
using GptAspire.OpenAIEmulator.Extensions;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>Tests that need an emulator of their own: other settings, or a log nobody else writes to.</summary>
public sealed class IsolatedEmulatorTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task TheEmulatorRefusesToStartWithoutAnApiKey()
    {
        // The emulator's own service setup on a plain host: WebApplicationFactory can report a failed
        // start as an ObjectDisposedException when it races its own cleanup.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Emulator:TokenDelayMs"] = "1" });
        builder.AddEmulatorServices();
        using var host = builder.Build();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Cancellation));

        Assert.Contains("Emulator:ApiKey is not set", failure.Message);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task TheConfiguredTokenDelayPacesTokensWithoutADirective()
    {
        await using var factory = new EmulatorFactory(new Dictionary<string, string?>
        {
            ["Emulator:ApiKey"] = EmulatorFactory.ApiKey,
            ["Emulator:TokenDelayMs"] = "30",
        });
        factory.Start();
        using var client = factory.CreateHttpClient();
        var clock = Stopwatch.StartNew();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("pace me", stream: true, maxTokens: 21), Cancellation);
        var events = await Chat.TimedEventsAsync(response, clock, Cancellation);

        var tokens = events.Where(e => e.Payload.Contains("\"content\":\"") && !e.Payload.Contains("\"role\"")).ToList();
        Assert.Equal(21, tokens.Count);
        Assert.True(tokens[^1].At - tokens[0].At >= TimeSpan.FromMilliseconds(20 * 30 * 0.9));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task DeleteClearsTheRequestLog()
    {
        await using var factory = new EmulatorFactory(EmulatorFactory.DefaultSettings);
        factory.Start();
        using var client = factory.CreateHttpClient();
        using (await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body("hello"), Cancellation))
        {
        }

        Assert.Single(await RequestLogClient.AllAsync(client));
        using var cleared = await client.DeleteAsync("/_emulator/requests", Cancellation);

        Assert.Equal(204, (int)cleared.StatusCode);
        Assert.Empty(await RequestLogClient.AllAsync(client));
    }
}
