using System.Diagnostics;

namespace GptAspire.Web.BrowserTests;

/// <summary>An answer streams in as it is written, can be stopped, and is asked for once.</summary>
public sealed class StreamingTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_answer_grows_in_visible_steps_then_shows_its_usage()
    {
        await AskAsync("How do server-sent events work? [emulator:delay=40]");

        await Expect(UserMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        await Expect(UserMessages.First).ToContainTextAsync("How do server-sent events work?", new() { Timeout = Short });

        // Sample the visible text while the answer says it is streaming: it must grow, step by step,
        // before the finish event turns it to done.
        var lengths = new List<int>();
        var clock = Stopwatch.StartNew();
        string status;
        do
        {
            (status, var length) = await SampleAsync();
            if (status == "streaming" && (lengths.Count == 0 || lengths[^1] != length))
            {
                lengths.Add(length);
            }

            await Task.Delay(100, Cancellation);
        }
        while (status is "streaming" && clock.Elapsed < TimeSpan.FromSeconds(30));

        Assert.Equal("done", status);
        var (_, final) = await SampleAsync();
        var seen = $"lengths while streaming: {string.Join(", ", lengths)}; when done: {final}";
        TestContext.Current.TestOutputHelper?.WriteLine(seen);

        // Each new longest text is a step the reader saw. (Markdown can shorten the text for a moment,
        // when a closing ** turns "**bold" into bold: that is not a step back in the answer.)
        var steps = 0;
        var longest = 0;
        foreach (var length in lengths)
        {
            if (length > longest)
            {
                steps++;
                longest = length;
            }
        }

        Assert.True(steps >= 3, $"The answer appeared in {steps} visible step(s) while streaming ({seen}).");
        Assert.True(final > lengths.First(l => l > 0), $"The finished answer is no longer than its first visible part ({seen}).");

        // The usage line counts the answer's tokens, exactly as the model billed them.
        var usage = Page.GetByTestId("usage");
        await Expect(usage).ToHaveTextAsync(UsageLine(), new() { Timeout = Short });
        var shownTokens = Number(await usage.InnerTextAsync(new() { Timeout = Short }));
        var upstream = await UpstreamCallAsync(TraceIdOfPost(0), r => r.GetProperty("completed").GetBoolean());
        Assert.Equal(upstream.GetProperty("completionTokens").GetInt32(), shownTokens);
        await Expect(Page.GetByTestId("send-button")).ToBeVisibleAsync(new() { Timeout = Short });
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Stop_freezes_the_answer_and_cancels_the_upstream_call()
    {
        await AskAsync("Write a long essay about streaming. [emulator:long] [emulator:delay=50]");
        await ExpectStatusAsync("streaming");
        await Expect(LastAnswerText).ToHaveTextAsync(NotEmpty(), new() { Timeout = Wait });

        await Page.GetByTestId("stop-button").ClickAsync(new() { Timeout = Short });

        await ExpectStatusAsync("stopped", Short);
        var (_, stoppedAt) = await SampleAsync();
        await Task.Delay(1000, Cancellation);
        var (status, oneSecondLater) = await SampleAsync();
        Assert.Equal("stopped", status);
        Assert.True(stoppedAt > 0, "The stopped answer lost its partial text.");
        Assert.Equal(stoppedAt, oneSecondLater);
        await Expect(Page.GetByTestId("send-button")).ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(Page.GetByTestId("stop-button")).ToHaveCountAsync(0, new() { Timeout = Short });

        // The OpenAI call behind it was cancelled, not left to run (and be paid for) to its end.
        var upstream = await UpstreamCallAsync(TraceIdOfPost(0), r => r.GetProperty("cancelled").GetBoolean());
        Assert.False(upstream.GetProperty("completed").GetBoolean());
        Assert.True(upstream.GetProperty("startedAt").GetDateTimeOffset() >= StartedAt.AddSeconds(-1));
        Assert.Single(ChatPosts);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_hidden_tab_keeps_its_stream_and_asks_only_once()
    {
        await AskAsync("Explain tabs and visibility. [emulator:delay=25]");
        await ExpectStatusAsync("streaming");
        await Expect(LastAnswerText).ToHaveTextAsync(NotEmpty(), new() { Timeout = Wait });

        // The tab goes to the background: what the browser reports when a person switches tabs.
        await SetVisibilityAsync(hidden: true);
        Assert.Equal("hidden", await Page.EvaluateAsync<string>("() => document.visibilityState"));
        var (_, hiddenAt) = await SampleAsync();
        await Task.Delay(600, Cancellation);
        var (statusWhileHidden, afterHidden) = await SampleAsync();
        await SetVisibilityAsync(hidden: false);

        Assert.True(
            statusWhileHidden == "done" || afterHidden != hiddenAt,
            $"The answer stopped growing while the tab was hidden ({hiddenAt} -> {afterHidden}, {statusWhileHidden}).");

        await ExpectStatusAsync("done");
        await Task.Delay(300, Cancellation);
        Assert.Single(ChatPosts);
        var traceId = TraceIdOfPost(0);
        await UpstreamCallAsync(traceId, r => r.GetProperty("completed").GetBoolean());
        Assert.Single(await UpstreamCallsAsync(traceId));
        await Expect(AssistantMessages).ToHaveCountAsync(1, new() { Timeout = Short });
    }

    private Task SetVisibilityAsync(bool hidden) =>
        Page.EvaluateAsync(
            """
            hidden => {
              Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => hidden ? 'hidden' : 'visible' });
              Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
              document.dispatchEvent(new Event('visibilitychange'));
            }
            """,
            hidden);

    private static System.Text.RegularExpressions.Regex UsageLine() =>
        new(@"^\s*[1-9][\d,]* tokens\s*·\s*[\d,]+ left in the context window(\s*·\s*answer limit [1-9][\d,]*)?\s*$");

    private static System.Text.RegularExpressions.Regex NotEmpty() => new(@"\S");
}
