using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using System.Text.RegularExpressions;

namespace GptAspire.Web.BrowserTests;

/// <summary>
/// An answer outlives its connection: the page resumes it with <c>GET /api/chat/stream/{requestId}</c>
/// and <c>Last-Event-ID</c> after the network goes away or the page reloads, never with a second POST,
/// and Stop stops it on the server.
/// </summary>
public sealed partial class ReconnectTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task Going_offline_mid_answer_and_back_completes_the_answer_once_with_one_POST()
    {
        await AskAsync("How do streams survive a flaky network? [emulator:delay=60]");
        await ExpectStatusAsync("streaming");
        await Expect(LastAnswerText).ToHaveTextAsync(NotEmpty(), new() { Timeout = Wait });

        await Context.SetOfflineAsync(true);

        // The page lets go of the connection and says so; the answer stays in place, still streaming.
        var reconnecting = Page.GetByTestId("reconnecting");
        await Expect(reconnecting).ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(reconnecting).ToContainTextAsync("Reconnecting", new() { Timeout = Short });
        // Tokens that arrived before the cut may still be rendering: wait until the text stops growing.
        var (statusOffline, lengthOffline) = await SampleAsync();
        await Eventually.UntilAsync(async () =>
        {
            var before = lengthOffline;
            await Task.Delay(250, Cancellation);
            (statusOffline, lengthOffline) = await SampleAsync();
            return lengthOffline == before;
        }, "the answer's text to stop growing once offline", cancellationToken: Cancellation);
        // Then nothing changes for a while: the page neither renders nor tries again without a network.
        await Task.Delay(1500, Cancellation);
        var (statusStillOffline, lengthStillOffline) = await SampleAsync();
        Assert.Equal("streaming", statusOffline);
        Assert.Equal("streaming", statusStillOffline);
        Assert.Equal(lengthOffline, lengthStillOffline);
        Assert.Empty(Resumes); // no try is spent while there is no network

        await Context.SetOfflineAsync(false);

        await ExpectStatusAsync("done", 60_000);
        await Expect(reconnecting).ToHaveCountAsync(0, new() { Timeout = Short });
        await Expect(Page.GetByTestId("error-notice")).ToHaveCountAsync(0, new() { Timeout = Short });
        Assert.Single(ChatPosts);
        Assert.NotEmpty(Resumes);
        Assert.All(Resumes, lastEventId => Assert.True(int.Parse(lastEventId, System.Globalization.CultureInfo.InvariantCulture) > 0));

        // Every token exactly once: the page's answer is the server's, token for token.
        var (requestId, content) = await StoredAnswerAsync();
        var server = await ReadWholeStreamAsync(requestId);
        Assert.Equal(server.Text(), content);
        Assert.Equal("finish", server[^1].Name);

        // One paid answer.
        var traceId = TraceIdOfPost(0);
        await UpstreamCallAsync(traceId, r => r.GetProperty("completed").GetBoolean());
        Assert.Single(await UpstreamCallsAsync(traceId));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_reload_mid_answer_resumes_it_from_where_it_was()
    {
        await AskAsync("What happens to an answer on reload? [emulator:delay=60]");
        await ExpectStatusAsync("streaming");
        await Expect(LastAnswerText).ToHaveTextAsync(NotEmpty(), new() { Timeout = Wait });
        await Task.Delay(700, Cancellation);

        await Page.ReloadAsync(new() { Timeout = 60_000 });

        await Expect(Composer).ToBeVisibleAsync(new() { Timeout = Wait });
        await Expect(AssistantMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        await ExpectStatusAsync("done", 60_000);
        Assert.Single(ChatPosts);
        Assert.NotEmpty(Resumes);
        Assert.True(
            int.Parse(Resumes[0], System.Globalization.CultureInfo.InvariantCulture) > 0,
            $"The first resume after the reload asked from event '{Resumes[0]}', not from where the page was.");
        Assert.Empty(Stops);

        var (requestId, content) = await StoredAnswerAsync();
        var server = await ReadWholeStreamAsync(requestId);
        Assert.Equal(server.Text(), content);
        Assert.Equal("finish", server[^1].Name);
        Assert.Single(await UpstreamCallsAsync(TraceIdOfPost(0)));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Stop_ends_the_generation_on_the_server_with_finish_stopped()
    {
        await AskAsync("Write a long essay about stopping. [emulator:long] [emulator:delay=50]");
        await ExpectStatusAsync("streaming");
        await Expect(LastAnswerText).ToHaveTextAsync(NotEmpty(), new() { Timeout = Wait });

        await Page.GetByTestId("stop-button").ClickAsync(new() { Timeout = Short });

        await ExpectStatusAsync("stopped", Short);
        var (requestId, content) = await StoredAnswerAsync();
        Assert.Equal([$"/api/chat/stream/{requestId}/stop"], Stops);

        // Whoever reads the stream now sees how it ended: usage, then finish "stopped".
        var server = await ReadWholeStreamAsync(requestId);
        Assert.Equal(["usage", "finish"], server.TakeLast(2).Select(e => e.Name));
        Assert.Equal("stopped", server[^1].Data.GetProperty("reason").GetString());
        Assert.StartsWith(content, server.Text(), StringComparison.Ordinal);

        var upstream = await UpstreamCallAsync(TraceIdOfPost(0), r => r.GetProperty("cancelled").GetBoolean());
        Assert.False(upstream.GetProperty("completed").GetBoolean());
        Assert.Single(ChatPosts);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_API_dying_mid_answer_shows_Reconnecting_then_keeps_the_text_without_a_second_POST()
    {
        await AskAsync("What if the server dies? [emulator:long] [emulator:delay=50]");
        await ExpectStatusAsync("streaming");
        await Expect(LastAnswerText).ToHaveTextAsync(NotEmpty(), new() { Timeout = Wait });

        var api = App.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "api");
        try
        {
            // A crash, not a shutdown: nothing gets the chance to end the stream properly.
            KillProcessOf(api);

            // At once when the web server passes the cut on; at the latest when the stream has been silent
            // for twice the heartbeat interval of start (15 s here), should the cut never reach the page.
            var reconnecting = Page.GetByTestId("reconnecting");
            await Expect(reconnecting).ToBeVisibleAsync(new() { Timeout = 45_000 });
            var (_, partial) = await SampleAsync();
            Assert.True(partial > 0, "The partial answer disappeared when the connection was lost.");

            var start = await App.App.ResourceCommands.ExecuteCommandAsync(api, KnownResourceCommands.StartCommand, Cancellation);
            Assert.True(start.Success, $"The API did not start again: {start.Message}");

            // A single API replica keeps streams in memory: the restarted one no longer has this answer (404),
            // unless the tries ran out first. Either way the page says so, keeps the text, and asks nothing again.
            await ExpectStatusAsync("error", 60_000);
            await Expect(reconnecting).ToHaveCountAsync(0, new() { Timeout = Short });
            var notice = Page.GetByTestId("error-notice");
            await Expect(notice).ToHaveTextAsync(new Regex(@"The answer is gone\.|Connection lost\."), new() { Timeout = Short });
            TestContext.Current.TestOutputHelper?.WriteLine($"after the restart: {await notice.InnerTextAsync(new() { Timeout = Short })}");
            var (_, kept) = await SampleAsync();
            Assert.True(kept >= partial, $"The answer lost text: {partial} characters while reconnecting, {kept} at the end.");
            await Expect(Page.GetByTestId("retry-button")).ToBeEnabledAsync(new() { Timeout = Short });
            Assert.Single(ChatPosts);
            Assert.NotEmpty(Resumes);
        }
        finally
        {
            // The next tests need the API, whatever happened here.
            if (App.App.ResourceNotifications.TryGetCurrentState(api.Name, out var state) && state.Snapshot.State?.Text != KnownResourceStates.Running)
            {
                await App.App.ResourceCommands.ExecuteCommandAsync(api, KnownResourceCommands.StartCommand, Cancellation);
            }

            await App.App.ResourceNotifications.WaitForResourceHealthyAsync(api.Name, Cancellation).WaitAsync(TimeSpan.FromMinutes(2), Cancellation);
        }
    }

    private void KillProcessOf(IResource resource)
    {
        Assert.True(App.App.ResourceNotifications.TryGetCurrentState(resource.Name, out var state), $"No state for '{resource.Name}'.");
        var pid = state.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value;
        Assert.True(pid is not null, $"'{resource.Name}' has no process id.");
        using var process = System.Diagnostics.Process.GetProcessById(Convert.ToInt32(pid, System.Globalization.CultureInfo.InvariantCulture));
        process.Kill(entireProcessTree: true);
        process.WaitForExit(TimeSpan.FromSeconds(10));
    }

    /// <summary>The test's one answer as the page stored it: its requestId and its raw text.</summary>
    private async Task<(string RequestId, string Content)> StoredAnswerAsync()
    {
        // Wherever the page keeps its conversations, each is stored as { messages: [...] }.
        var answers = await Page.EvaluateAsync<JsonElement>(
            """
            () => Object.keys(localStorage).flatMap(key => {
              try {
                const messages = JSON.parse(localStorage.getItem(key) ?? 'null')?.messages
                return Array.isArray(messages) ? messages.filter(m => m?.role === 'assistant') : []
              } catch {
                return []
              }
            })
            """);
        var turn = Assert.Single(answers.EnumerateArray());
        Assert.True(turn.TryGetProperty("requestId", out var requestId), $"The stored answer has no requestId: {turn}");
        return (requestId.GetString()!, turn.GetProperty("content").GetString()!);
    }

    /// <summary>The whole generation, from its first event, read through the web server as the page reads it.</summary>
    private async Task<List<ReceivedEvent>> ReadWholeStreamAsync(string requestId)
    {
        using var web = App.Client("web");
        using var response = await web.GetAsync(
            $"/api/chat/stream/{Uri.EscapeDataString(requestId)}", HttpCompletionOption.ResponseHeadersRead, Cancellation);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var events = await ChatStream.ReadAsync(response, Cancellation);
        Assert.NotEmpty(events);
        Assert.Equal("start", events[0].Name);
        return events;
    }

    [GeneratedRegex(@"\S")]
    private static partial Regex NotEmpty();
}
