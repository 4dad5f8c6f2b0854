namespace GptAspire.Web.BrowserTests;

/// <summary>A tool call shows in the answer where it happened, as a card that keeps its outcome after a reload.</summary>
public sealed class ToolCallTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact]
    public async Task The_card_shows_before_the_answer_with_its_result_and_is_still_there_after_a_reload()
    {
        await AskAsync($"What is (12.5 + 7) * 3? Tool question {Guid.NewGuid():N} [emulator:delay=80]");

        // The card comes while the answer is still being written, ahead of the text that uses its result.
        var card = LastAnswer.Locator("[data-tool-call]");
        await Expect(card).ToHaveCountAsync(1, new() { Timeout = Wait });
        await Expect(LastAnswer).ToHaveAttributeAsync("data-status", "streaming", new() { Timeout = Short });
        await Expect(card).ToHaveAttributeAsync("data-tool-name", "calculate", new() { Timeout = Short });
        await Expect(card).ToHaveAttributeAsync("data-tool-status", "done", new() { Timeout = Short });
        await Expect(card.GetByTestId("tool-call-status")).ToContainTextAsync("Done in", new() { Timeout = Short });

        // Collapsed; the keyboard opens it and it shows the arguments and the exact result.
        await Expect(card.GetByTestId("tool-call-result")).Not.ToBeVisibleAsync(new() { Timeout = Short });
        await card.Locator("summary").FocusAsync(new() { Timeout = Short });
        await Page.Keyboard.PressAsync("Enter");
        await Expect(card.GetByTestId("tool-call-arguments")).ToContainTextAsync("(12.5 + 7) * 3", new() { Timeout = Short });
        await Expect(card.GetByTestId("tool-call-result")).ToContainTextAsync("58.5", new() { Timeout = Short });

        await ExpectStatusAsync("done");
        await Expect(LastAnswerText).ToContainTextAsync("58.5", new() { Timeout = Short });

        await Page.ReloadAsync(new() { Timeout = 60_000 });
        var kept = LastAnswer.Locator("[data-tool-call]");
        await Expect(kept).ToHaveCountAsync(1, new() { Timeout = Wait });
        await Expect(kept).ToHaveAttributeAsync("data-tool-status", "done", new() { Timeout = Short });
        await kept.Locator("summary").ClickAsync(new() { Timeout = Short });
        await Expect(kept.GetByTestId("tool-call-result")).ToContainTextAsync("58.5", new() { Timeout = Short });
    }

    [Fact]
    public async Task A_tool_error_shows_on_its_card_and_the_answer_still_finishes()
    {
        await AskAsync($"Check this {Guid.NewGuid():N} [emulator:tool=get_current_time {{\"timeZone\": \"Mars/Olympus_Mons\"}}] [emulator:delay=1]");
        await ExpectStatusAsync("done");

        var card = LastAnswer.Locator("[data-tool-call]");
        await Expect(card).ToHaveAttributeAsync("data-tool-status", "error", new() { Timeout = Short });
        // The summary names the failure in short; the card, opened, gives the tool's words whole.
        await Expect(card.GetByTestId("tool-call-status")).ToContainTextAsync("Failed: 'Mars/Olympus_Mons' is not a time zone", new() { Timeout = Short });
        await card.Locator("summary").ClickAsync(new() { Timeout = Short });
        await Expect(card.GetByTestId("tool-call-error")).ToContainTextAsync("'Mars/Olympus_Mons' is not a time zone name of the IANA database, such as Europe/London.", new() { Timeout = Short });
    }
}
