using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// What a developer sees of the running app: named links in the dashboard (the rest in the details), the
/// emulator's command, and the chat page's address in the AppHost's console.
/// </summary>
public class DashboardTests(AppHostFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Web_shows_one_link_named_Chat_to_the_chat_page()
    {
        var urls = await UrlsAsync("web");

        var chat = Assert.Single(urls, u => !u.IsInternal);
        Assert.Equal("Chat", chat.DisplayProperties.DisplayName);
        Assert.Equal(fixture.App.GetEndpoint("web", "http").ToString().TrimEnd('/'), chat.Url.TrimEnd('/'));
        using var page = await fixture.Client("web").GetAsync(chat.Url, Timeout);
        Assert.Contains("<div id=\"app\">", await page.Content.ReadAsStringAsync(Timeout));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Api_shows_a_link_named_API_reference_to_Scalar_and_keeps_its_address_in_the_details()
    {
        var urls = await UrlsAsync("api");

        var reference = Assert.Single(urls, u => !u.IsInternal);
        Assert.Equal("API reference", reference.DisplayProperties.DisplayName);
        Assert.EndsWith("/scalar", reference.Url, StringComparison.Ordinal);
        Assert.Contains(urls, u => u.IsInternal && u.Url.TrimEnd('/') == reference.Url[..^"/scalar".Length]);
        using var page = await fixture.Client("api").GetAsync(reference.Url, Timeout);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("scalar", await page.Content.ReadAsStringAsync(Timeout), StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_emulator_shows_a_link_named_Recorded_requests_to_its_request_log()
    {
        var urls = await UrlsAsync("openai");

        var requests = Assert.Single(urls, u => !u.IsInternal);
        Assert.Equal("Recorded requests", requests.DisplayProperties.DisplayName);
        Assert.EndsWith("/_emulator/requests", requests.Url, StringComparison.Ordinal);
        var log = await fixture.Client("openai").GetFromJsonAsync<JsonElement>(requests.Url, Timeout);
        Assert.Equal(JsonValueKind.Array, log.ValueKind);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_AppHost_console_names_the_chat_page_once_it_is_ready()
    {
        var expected = $"Chat page: {fixture.App.GetEndpoint("web", "http").ToString().TrimEnd('/')}";

        await Eventually.UntilAsync(() => fixture.AppHostLogs().Any(l => l.Message == expected), $"the line \"{expected}\"", cancellationToken: Timeout);

        var line = Assert.Single(fixture.AppHostLogs(), l => l.Message.StartsWith("Chat page:", StringComparison.Ordinal));
        Assert.Equal(expected, line.Message);
        Assert.Equal("GptAspire.AppHost", line.Category);
    }

    private async Task<UrlSnapshot[]> UrlsAsync(string resource)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Timeout);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var ready = await fixture.App.ResourceNotifications.WaitForResourceAsync(resource,
            e => e.Snapshot.Urls.Any(u => u.DisplayProperties.DisplayName is { Length: > 0 }), timeout.Token);
        return [.. ready.Snapshot.Urls.Where(u => !u.IsInactive)];
    }
}

/// <summary>The emulator's dashboard command; it empties the request log that other tests read, so it runs alone.</summary>
[Collection(nameof(EmulatorCommandTests))]
[CollectionDefinition(nameof(EmulatorCommandTests), DisableParallelization = true)]
public class EmulatorCommandTests(AppHostFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Clear_recorded_requests_empties_the_emulators_request_log()
    {
        using var api = fixture.Client("api");
        using var emulator = fixture.Client("openai");
        await ChatStream.PostAsync(api, ChatStream.Body("Something to record [emulator:delay=0]"), Timeout);
        Assert.NotEmpty(await EmulatorRequests.ListAsync(emulator, Timeout));
        var command = (await fixture.App.ResourceNotifications.WaitForResourceAsync("openai",
            e => e.Snapshot.Commands.Any(c => c.Name == "clear-recorded-requests" && c.State == ResourceCommandState.Enabled), Timeout))
            .Snapshot.Commands.Single(c => c.Name == "clear-recorded-requests");

        var result = await fixture.App.ResourceCommands.ExecuteCommandAsync("openai", "clear-recorded-requests", Timeout);

        Assert.True(result.Success, result.Message);
        Assert.Equal("Clear recorded requests", command.DisplayName);
        Assert.Empty(await EmulatorRequests.ListAsync(emulator, Timeout));
    }
}
