using System.Diagnostics;
using System.Text.Json;

namespace GptAspire.Web.BrowserTests;

/// <summary>
/// With two API replicas, the replica that generates the page's answer dies mid-answer (<c>kill -9</c>): the page
/// reconnects, another replica continues the generation, and the page shows one whole answer, the same as the
/// same question answered without a fault, without asking again.
/// </summary>
public class TakeoverTests(ReplicasAppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser), IClassFixture<ReplicasAppHostFixture>
{
    private const string Question = "What happens when my server dies mid-answer? [emulator:delay=80]";

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_page_shows_one_whole_answer_across_the_death_of_the_replica_that_generates_it()
    {
        var reference = await UndisturbedAnswerAsync();

        var post = Page.WaitForResponseAsync(r => r.Request.Method == "POST" && new Uri(r.Url).AbsolutePath == "/api/chat/stream");
        await Page.GotoAsync("/");
        await AskAsync(Question);
        var owner = (await post).Headers["x-stream-replica"];
        await Expect(LastAnswerText).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(".{40}"), new() { Timeout = Wait });

        var (resourceId, pid) = await App.Running.ApiReplicaAsync(owner, ReplicasAppHostFixture.Replicas, Cancellation);
        try
        {
            RunningAppHost.KillProcessTree(pid);

            // The lease (5 s) runs out, the other replica takes over and the page's resume reads on.
            await Expect(LastAnswerText).ToHaveTextAsync(reference, new() { Timeout = 60_000 });
            Assert.Single(ChatPosts);
            Assert.NotEmpty(Resumes);
        }
        finally
        {
            await App.App.ResourceCommands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, Cancellation);
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_browser_EventSource_on_an_ended_answer_stops_reconnecting_after_its_finish()
    {
        using var api = App.Running.Client("api", TimeSpan.FromSeconds(30));
        var (_, answer) = await ChatStream.PostAsync(api, ChatStream.Body("Short, then the EventSource [emulator:delay=5]", maxTokens: 5), Cancellation);
        var requestId = answer[0].Data.GetProperty("requestId").GetString();

        // The page lives on the API's own origin, so that the EventSource asks it directly.
        var requests = 0;
        Page.Request += (_, request) =>
        {
            if (request.Url.Contains($"/api/chat/stream/{requestId}", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref requests);
            }
        };
        await Page.GotoAsync(new Uri(App.App.GetEndpoint("api", "http"), "/api/info").ToString());
        var result = await Page.EvaluateAsync<JsonElement>(
            """
            async (url) => {
              const seen = { opens: 0, finishes: 0, errors: 0 };
              const source = new EventSource(url);
              source.onopen = () => seen.opens++;
              source.addEventListener('finish', () => seen.finishes++);
              source.onerror = () => seen.errors++;
              // Chromium waits about 3 s before it reconnects; give it time to try twice.
              await new Promise(resolve => setTimeout(resolve, 9000));
              seen.state = source.readyState;
              source.close();
              return seen;
            }
            """, $"/api/chat/stream/{requestId}");

        TestContext.Current.SendDiagnosticMessage($"EventSource: {result}; requests {requests}");
        Assert.Equal(1, result.GetProperty("finishes").GetInt32());
        Assert.Equal(2, result.GetProperty("state").GetInt32()); // CLOSED: the 204 told it to stop
        Assert.Equal(2, requests); // the stream, and one reconnect that got 204
    }

    // The same question on a fresh page (its own storage): what the page shows without a fault.
    private async Task<string> UndisturbedAnswerAsync()
    {
        await using var context = await Context.Browser!.NewContextAsync(new() { BaseURL = App.WebUrl.ToString(), ViewportSize = new() { Width = 1280, Height = 800 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        var composer = page.GetByTestId("composer-input");
        await composer.FillAsync(Question);
        await composer.PressAsync("Enter");
        var text = page.GetByTestId("message-assistant").Last.Locator(".markdown");
        // Done when the text stops changing for two seconds.
        var last = "";
        var stable = Stopwatch.StartNew();
        var deadline = Stopwatch.StartNew();
        while (stable.Elapsed < TimeSpan.FromSeconds(2) && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(250, Cancellation);
            var now = await text.TextContentAsync() ?? "";
            if (now != last || now.Length == 0)
            {
                (last, stable) = (now, Stopwatch.StartNew());
            }
        }

        Assert.NotEmpty(last);
        return last;
    }
}
