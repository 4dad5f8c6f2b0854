using System.Text.RegularExpressions;

namespace GptAspire.Web.BrowserTests;

/// <summary>What the page says of itself and how a keyboard gets around it: the wait, the emulator, the settings in effect, Tab and Esc.</summary>
public sealed partial class PageDetailsTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_rate_limit_shows_one_wait_that_counts_down_and_leaves_no_stale_seconds()
    {
        await AskAsync($"Rate limit me once, {Guid.NewGuid():N}. [emulator:rate-limit-once=4] [emulator:delay=1]");
        await ExpectStatusAsync("error");
        var notice = LastAnswer.GetByTestId("error-notice");

        var text = await notice.InnerTextAsync(new() { Timeout = Short });
        Assert.Single(Seconds().Matches(text));
        await Expect(LastAnswer.GetByTestId("message-outcome")).ToHaveTextAsync("Failed: Rate limited", new() { Timeout = Short });

        await Expect(Page.GetByTestId("countdown")).ToHaveCountAsync(0, new() { Timeout = Wait });
        await Expect(notice).Not.ToContainTextAsync(new Regex("try again in", RegexOptions.IgnoreCase), new() { Timeout = Short });
        await Expect(LastAnswer.GetByTestId("retry-button")).ToBeEnabledAsync(new() { Timeout = Short });
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_header_says_the_emulator_answers_and_the_conversation_names_the_settings_a_new_chat_carries()
    {
        await Expect(Page.GetByTestId("emulator-badge")).ToHaveTextAsync("emulator", new() { Timeout = Wait });
        await Expect(Page.GetByTestId("emulator-badge")).ToBeInViewportAsync(new() { Timeout = Short });
        await Expect(Page.GetByTestId("settings-in-effect")).ToHaveCountAsync(0, new() { Timeout = Short });

        await Page.GetByTestId("settings-button").ClickAsync(new() { Timeout = Short });
        await Page.GetByTestId("settings-temperature").FillAsync("0.5", new() { Timeout = Short });
        await Page.GetByTestId("settings-system-prompt").FillAsync("Answer in one line.", new() { Timeout = Short });
        await Page.Keyboard.PressAsync("Escape");
        await Expect(Page.GetByTestId("settings-panel")).ToBeHiddenAsync(new() { Timeout = Short });

        await AskAsync("With settings [emulator:delay=1]");
        await ExpectStatusAsync("done");
        await Expect(LastAnswer.GetByTestId("message-outcome")).ToHaveTextAsync(new Regex(@"^Done · [\d,]+ tokens$"), new() { Timeout = Short });
        await Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync(new() { Timeout = Short });
        await Expect(UserMessages).ToHaveCountAsync(0, new() { Timeout = Short });

        var line = Page.GetByTestId("settings-in-effect");
        await Expect(line).ToContainTextAsync("System prompt · Temperature 0.5", new() { Timeout = Short });
        await line.GetByRole(AriaRole.Button).ClickAsync(new() { Timeout = Short });
        await Expect(Page.GetByTestId("settings-system-prompt")).ToBeFocusedAsync(new() { Timeout = Short });
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Each_conversation_is_one_Tab_stop_and_Esc_closes_Settings_back_to_its_button()
    {
        for (var i = 1; i <= 3; i++)
        {
            await AskAsync($"Chat {i} [emulator:delay=1]");
            await ExpectStatusAsync("done");
            await Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync(new() { Timeout = Short });
            await Expect(UserMessages).ToHaveCountAsync(0, new() { Timeout = Short });
        }

        var rows = await Page.GetByTestId("conversation-item").CountAsync();
        await Page.GetByRole(AriaRole.Link, new() { Name = "Skip to the message box" }).FocusAsync(new() { Timeout = Short });
        var stops = new List<string>();
        for (var i = 0; i < 40 && !await IsFocusedAsync(Composer); i++)
        {
            await Page.Keyboard.PressAsync("Tab");
            stops.Add(await Page.EvaluateAsync<string>("() => document.activeElement?.dataset.testid ?? document.activeElement?.tagName ?? ''"));
        }

        await Expect(Composer).ToBeFocusedAsync(new() { Timeout = Short });
        Assert.Equal(rows, stops.Count(s => s == "conversation-select"));
        Assert.DoesNotContain("rename-conversation", stops);
        Assert.DoesNotContain("delete-conversation", stops);

        // The row's other buttons are reached with the arrow keys.
        await Page.GetByTestId("conversation-select").First.FocusAsync(new() { Timeout = Short });
        await Page.Keyboard.PressAsync("ArrowRight");
        await Expect(Page.GetByTestId("rename-conversation").First).ToBeFocusedAsync(new() { Timeout = Short });

        var settings = Page.GetByTestId("settings-button");
        await settings.FocusAsync(new() { Timeout = Short });
        await Page.Keyboard.PressAsync("Enter");
        await Page.GetByTestId("settings-system-prompt").FocusAsync(new() { Timeout = Short });
        await Page.Keyboard.PressAsync("Escape");
        await Expect(Page.GetByTestId("settings-panel")).ToBeHiddenAsync(new() { Timeout = Short });
        await Expect(settings).ToBeFocusedAsync(new() { Timeout = Short });
    }

    private static async Task<bool> IsFocusedAsync(ILocator locator) =>
        await locator.EvaluateAsync<bool>("el => el === document.activeElement");

    [GeneratedRegex(@"\d+ s\b")]
    private static partial Regex Seconds();
}
