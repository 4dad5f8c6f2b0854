using System.Diagnostics;
using System.Text.RegularExpressions;

namespace GptAspire.Web.BrowserTests;

/// <summary>What an answer's outcome looks like once more happens: other messages, other chats, a reload, time passing.</summary>
public sealed class PageOutcomeTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact]
    public async Task A_filtered_and_a_failed_answer_keep_their_outcome_after_another_message_and_a_reload()
    {
        await AskAsync("Tell me something edgy. [emulator:content-filter] [emulator:delay=1]");
        await ExpectStatusAsync("done");
        await AskAsync("Now break, please. [emulator:server-error]");
        await ExpectStatusAsync("error");
        await AskAsync("And now an ordinary answer. [emulator:delay=1]");
        await ExpectStatusAsync("done");

        for (var reload = 0; reload < 2; reload++)
        {
            var (filtered, failed, ordinary) = (AssistantMessages.Nth(0), AssistantMessages.Nth(1), AssistantMessages.Nth(2));
            await Expect(AssistantMessages).ToHaveCountAsync(3, new() { Timeout = Wait });
            await Expect(filtered).ToHaveAttributeAsync("data-status", "done", new() { Timeout = Short });
            await Expect(filtered.GetByTestId("finish-notice")).ToHaveTextAsync("The answer was stopped by the content filter.", new() { Timeout = Short });
            await Expect(failed).ToHaveAttributeAsync("data-status", "error", new() { Timeout = Short });
            await Expect(failed.GetByTestId("error-notice")).ToContainTextAsync("The answer failed.", new() { Timeout = Short });
            // Retry belongs to the last answer only: an older failure is a record, not a button.
            await Expect(failed.GetByTestId("retry-button")).ToHaveCountAsync(0, new() { Timeout = Short });
            await Expect(ordinary.GetByTestId("finish-notice")).ToHaveCountAsync(0, new() { Timeout = Short });
            await Expect(ordinary.GetByTestId("error-notice")).ToHaveCountAsync(0, new() { Timeout = Short });
            await failed.ScrollIntoViewIfNeededAsync(new() { Timeout = Short });
            await SaveScreenshotAsync($"outcomes-{reload}");
            if (reload == 0)
            {
                await Page.ReloadAsync(new() { Timeout = 60_000 });
            }
        }
    }

    [Fact]
    public async Task A_rate_limit_counts_down_to_its_end_across_a_switch_of_chats_then_Retry_answers()
    {
        await AskAsync($"Rate limit me once, {Guid.NewGuid():N}. [emulator:rate-limit-once=10] [emulator:delay=1]");
        await ExpectStatusAsync("error");
        var clock = Stopwatch.StartNew();
        var countdown = Page.GetByTestId("countdown");
        var retry = Page.GetByTestId("retry-button");
        var first = Number(await countdown.InnerTextAsync(new() { Timeout = Short }));
        Assert.InRange(first, 8, 10);
        await Expect(retry).ToBeDisabledAsync(new() { Timeout = Short });

        // Another chat, a while, then back: the wait went on meanwhile, it did not start again.
        await Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync(new() { Timeout = Short });
        await Expect(AssistantMessages).ToHaveCountAsync(0, new() { Timeout = Short });
        await Task.Delay(3000, Cancellation);
        await Page.GetByTestId("conversation-select").Filter(new() { HasText = "Rate limit me once" }).ClickAsync(new() { Timeout = Short });
        var back = Number(await countdown.InnerTextAsync(new() { Timeout = Short }));
        var elapsed = (int)clock.Elapsed.TotalSeconds;
        Assert.True(back <= first - 2 && back >= first - elapsed - 1, $"Back after {elapsed} s the countdown shows {back} (it showed {first}).");
        await Expect(retry).ToBeDisabledAsync(new() { Timeout = Short });

        // To its end: the seconds go down to the last, then the countdown goes and Retry can be pressed.
        var seen = new List<int> { back };
        while (clock.Elapsed < TimeSpan.FromSeconds(15) && await countdown.CountAsync() > 0)
        {
            try
            {
                var now = Number(await countdown.InnerTextAsync(new() { Timeout = 500 }));
                if (now != seen[^1])
                {
                    seen.Add(now);
                }
            }
            catch (TimeoutException)
            {
                break;
            }

            await Task.Delay(100, Cancellation);
        }

        Assert.Equal(seen.OrderDescending(), seen);
        Assert.Equal(1, seen[^1]);
        await Expect(countdown).ToHaveCountAsync(0, new() { Timeout = Short });
        await Expect(retry).ToBeEnabledAsync(new() { Timeout = Short });
        Assert.InRange(clock.Elapsed.TotalSeconds, first - 1.5, first + 3);

        await retry.ClickAsync(new() { Timeout = Short });
        await ExpectStatusAsync("done");
        await Expect(Page.GetByTestId("error-notice")).ToHaveCountAsync(0, new() { Timeout = Short });
        Assert.Equal(2, ChatPosts.Count);
    }

    [Fact]
    public async Task Keyboard_alone_reaches_the_message_box_sends_and_regenerates()
    {
        // The page opens with the focus in the message box.
        await Expect(Composer).ToBeFocusedAsync(new() { Timeout = Short });

        // From the top of the page, the first Tab stop shows itself and leads there too.
        var skip = Page.GetByRole(AriaRole.Link, new() { Name = "Skip to the message box" });
        var firstStop = await Page.EvaluateAsync<string>(
            """
            () => [...document.querySelectorAll('a[href], button:not([disabled]), input, textarea, [tabindex]:not([tabindex="-1"])')]
              .find(el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')?.textContent?.trim() ?? ''
            """);
        Assert.Equal("Skip to the message box", firstStop);
        await Expect(skip).Not.ToBeInViewportAsync(new() { Timeout = Short });
        await skip.FocusAsync(new() { Timeout = Short });
        await Expect(skip).ToBeInViewportAsync(new() { Timeout = Short });
        await Page.Keyboard.PressAsync("Enter");
        await Expect(Composer).ToBeFocusedAsync(new() { Timeout = Short });

        await Page.Keyboard.TypeAsync("Keyboard only, please [emulator:delay=1]");
        await Page.Keyboard.PressAsync("Enter");
        await ExpectStatusAsync("done");
        await Expect(UserMessages).ToHaveTextAsync(["Keyboard only, please [emulator:delay=1]"], new() { Timeout = Short });
        await Expect(Composer).ToBeFocusedAsync(new() { Timeout = Short });

        // Back from the message box to the answer's Regenerate, seen focused, and Enter asks again.
        var regenerate = LastAnswer.GetByTestId("regenerate-button");
        for (var i = 0; i < 6 && !await IsFocusedAsync(regenerate); i++)
        {
            await Page.Keyboard.PressAsync("Shift+Tab");
        }

        await Expect(regenerate).ToBeFocusedAsync(new() { Timeout = Short });
        Assert.NotEqual("none", await regenerate.EvaluateAsync<string>("b => getComputedStyle(b).outlineStyle"));
        await Page.Keyboard.PressAsync("Enter");
        await UntilAsync(() => ChatPosts.Count == 2, "the second POST");
        await ExpectStatusAsync("done");
        await Expect(AssistantMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        await Expect(Composer).ToBeFocusedAsync(new() { Timeout = Short });
    }

    [Fact]
    public async Task An_invalid_setting_stops_Send_and_names_the_field_to_fix_against_the_server_limits()
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = "Settings", Exact = true }).ClickAsync(new() { Timeout = Short });
        var temperature = Page.GetByLabel("Temperature (0–2)");
        var maxTokens = Page.GetByLabel("Maximum answer tokens");
        await temperature.FillAsync("5", new() { Timeout = Short });
        // The server's own limit, from /api/info: 16,384 answer tokens.
        await maxTokens.FillAsync("20000", new() { Timeout = Short });
        await Expect(maxTokens).ToHaveAttributeAsync("max", "16384", new() { Timeout = Short });

        await Composer.FillAsync("Will this be sent? [emulator:delay=1]", new() { Timeout = Short });
        await Expect(Page.GetByTestId("send-button")).ToBeDisabledAsync(new() { Timeout = Short });
        await Composer.PressAsync("Enter", new() { Timeout = Short });
        await Expect(Page.GetByTestId("field-error")).ToHaveTextAsync(
            ["Temperature: Use a number from 0 to 2, or leave it empty.", "Maximum answer tokens: Use a whole number from 1 to 16,384, or leave it empty."],
            new() { Timeout = Short });
        // Enter takes the person to the field to fix; nothing was sent.
        await Expect(temperature).ToBeFocusedAsync(new() { Timeout = Short });
        await Expect(UserMessages).ToHaveCountAsync(0, new() { Timeout = Short });
        await SaveScreenshotAsync("invalid-settings");

        await temperature.FillAsync("", new() { Timeout = Short });
        await maxTokens.FillAsync("30", new() { Timeout = Short });
        await Expect(Page.GetByTestId("field-error")).ToHaveCountAsync(0, new() { Timeout = Short });
        var request = await Page.RunAndWaitForRequestAsync(
            () => Page.GetByTestId("send-button").ClickAsync(new() { Timeout = Short }),
            r => r.Method == "POST" && r.Url.EndsWith("/api/chat/stream", StringComparison.Ordinal),
            new() { Timeout = Short });
        await ExpectStatusAsync("done");
        Assert.Contains("\"maxTokens\":30", request.PostData);
        Assert.DoesNotContain("temperature", request.PostData);
        Assert.Single(ChatPosts);
    }

    [Fact]
    public async Task Regenerate_writes_a_new_answer_at_temperature_1_and_the_same_one_at_0()
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = "Settings", Exact = true }).ClickAsync(new() { Timeout = Short });
        var temperature = Page.GetByLabel("Temperature (0–2)");
        await temperature.FillAsync("1", new() { Timeout = Short });
        await AskAsync("How should I cache configuration? [emulator:delay=1]");
        await ExpectStatusAsync("done");

        var first = await LastAnswerText.InnerTextAsync(new() { Timeout = Short });
        var second = await RegenerateAsync();
        Assert.NotEqual(first, second);

        await temperature.FillAsync("0", new() { Timeout = Short });
        var third = await RegenerateAsync();
        var fourth = await RegenerateAsync();
        Assert.Equal(third, fourth);
        Assert.Equal(4, ChatPosts.Count);
    }

    private async Task<string> RegenerateAsync()
    {
        var posts = ChatPosts.Count;
        await LastAnswer.GetByTestId("regenerate-button").ClickAsync(new() { Timeout = Short });
        await UntilAsync(() => ChatPosts.Count == posts + 1, "the regenerate POST");
        await ExpectStatusAsync("done");
        await Expect(AssistantMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        return await LastAnswerText.InnerTextAsync(new() { Timeout = Short });
    }

    private static async Task UntilAsync(Func<bool> check, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!check())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(Wait), $"Timed out waiting for {what}.");
            await Task.Delay(50, Cancellation);
        }
    }

    private static async Task<bool> IsFocusedAsync(ILocator locator) =>
        await locator.CountAsync() > 0 && await locator.EvaluateAsync<bool>("el => el === document.activeElement");

    /// <summary>The page as a person sees it now, kept in <c>artifacts/browser-tests/</c> to look at.</summary>
    private async Task SaveScreenshotAsync(string name)
    {
        var directory = Path.Combine(RepositoryRoot(), "artifacts", "browser-tests");
        Directory.CreateDirectory(directory);
        await Page.ScreenshotAsync(new() { Path = Path.Combine(directory, $"page-{name}.png"), Timeout = Short });
    }
}
