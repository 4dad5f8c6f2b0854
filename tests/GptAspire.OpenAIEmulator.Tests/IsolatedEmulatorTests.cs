using System.Diagnostics;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>Tests that need an emulator of their own: other settings, or a log nobody else writes to.</summary>
public sealed class IsolatedEmulatorTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheEmulatorRefusesToStartWithoutAnApiKey()
    {
        await using var factory = new EmulatorFactory(new Dictionary<string, string?> { ["Emulator:TokenDelayMs"] = "1" });

        var failure = Assert.ThrowsAny<Exception>(() => factory.Start());

        Assert.Contains("Emulator:ApiKey", failure.ToString());
    }

    [Fact]
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

    [Fact]
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
