namespace GptAspire.Web.BrowserTests;

/// <summary>The conversation survives a reload, and the model's hostile Markdown stays inert.</summary>
public sealed class ConversationTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_reload_keeps_the_conversation()
    {
        const string question = "What survives a reload? [emulator:delay=1]";
        await AskAsync(question);
        await ExpectStatusAsync("done");
        var answer = await LastAnswerText.InnerTextAsync(new() { Timeout = Short });
        Assert.False(string.IsNullOrWhiteSpace(answer));
        var usage = await Page.GetByTestId("usage").InnerTextAsync(new() { Timeout = Short });

        await Page.ReloadAsync(new() { Timeout = 60_000 });
        await Expect(Composer).ToBeVisibleAsync(new() { Timeout = Wait });

        await Expect(UserMessages).ToHaveCountAsync(1, new() { Timeout = Wait });
        await Expect(UserMessages.First).ToHaveTextAsync(question, new() { Timeout = Short });
        await Expect(AssistantMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        await ExpectStatusAsync("done", Short);
        Assert.Equal(answer, await LastAnswerText.InnerTextAsync(new() { Timeout = Short }));
        await Expect(Page.GetByTestId("usage")).ToHaveTextAsync(usage, new() { Timeout = Short });
        Assert.Single(ChatPosts);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_hostile_Markdown_answer_runs_nothing()
    {
        await AskAsync("Show me some HTML. [emulator:xss] [emulator:delay=1]");
        await ExpectStatusAsync("done");

        // The hostile parts arrived and are shown as text.
        await Expect(LastAnswerText).ToContainTextAsync("click me", new() { Timeout = Short });
        await Expect(LastAnswerText).ToContainTextAsync("window.__xss", new() { Timeout = Short });

        Assert.Equal(0, await LastAnswer.Locator("script").CountAsync());
        Assert.Equal(0, await LastAnswer.Locator("[onerror]").CountAsync());
        Assert.Equal(0, await LastAnswer.Locator("img").CountAsync());
        var hrefs = await LastAnswer.Locator("a").EvaluateAllAsync<string[]>("links => links.map(a => a.getAttribute('href') ?? '')");
        Assert.DoesNotContain(hrefs, href => href.Trim().StartsWith("javascript:", StringComparison.OrdinalIgnoreCase));

        // Whatever was clickable is clicked: still nothing runs.
        foreach (var link in await LastAnswer.GetByText("click me").AllAsync())
        {
            await link.ClickAsync(new() { Timeout = Short });
        }

        Assert.Equal("undefined", await Page.EvaluateAsync<string>("() => typeof window.__xss"));
        Assert.Single(Context.Pages);
    }
}
