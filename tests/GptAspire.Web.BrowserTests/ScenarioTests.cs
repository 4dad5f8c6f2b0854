using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace GptAspire.Web.BrowserTests;

/// <summary>What a person sees when the model or the network does not simply answer.</summary>
public sealed class ScenarioTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_content_filtered_answer_says_so()
    {
        await AskAsync("Tell me something edgy. [emulator:content-filter] [emulator:delay=1]");

        await ExpectStatusAsync("done");
        await Expect(Page.GetByTestId("finish-notice")).ToHaveTextAsync("The answer was stopped by the content filter.", new() { Timeout = Short });
        await Expect(LastAnswerText).ToHaveTextAsync(new Regex(@"\S"), new() { Timeout = Short });
        await Expect(Page.GetByTestId("error-notice")).ToHaveCountAsync(0, new() { Timeout = Short });
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_rate_limit_counts_down_then_Retry_streams_the_answer()
    {
        // Unique text: the emulator refuses only the first sighting of a conversation.
        await AskAsync($"Rate limit me once, {Guid.NewGuid():N}. [emulator:rate-limit-once=4] [emulator:delay=1]");

        await ExpectStatusAsync("error");
        var notice = Page.GetByTestId("error-notice");
        await Expect(notice).ToContainTextAsync("Rate limited.", new() { Timeout = Short });
        var countdown = Page.GetByTestId("countdown");
        var retry = Page.GetByTestId("retry-button");
        var first = Number(await countdown.InnerTextAsync(new() { Timeout = Short }));
        Assert.InRange(first, 1, 4);
        await Expect(retry).ToBeDisabledAsync(new() { Timeout = Short });

        // The seconds go down, and only then can the person retry.
        var seen = new List<int> { first };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(8) && await countdown.CountAsync() > 0)
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
                break; // The countdown ended between the two reads.
            }

            await Task.Delay(100, Cancellation);
        }

        Assert.Equal(seen.OrderDescending(), seen);
        Assert.True(seen.Count >= 2 || first == 1, $"The countdown never went down: {string.Join(", ", seen)}.");
        await Expect(countdown).ToHaveCountAsync(0, new() { Timeout = Short });
        await Expect(retry).ToBeEnabledAsync(new() { Timeout = Short });

        await retry.ClickAsync(new() { Timeout = Short });

        await ExpectStatusAsync("done");
        await Expect(LastAnswerText).ToHaveTextAsync(new Regex(@"\S"), new() { Timeout = Short });
        await Expect(notice).ToHaveCountAsync(0, new() { Timeout = Short });
        await Expect(AssistantMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        await Expect(UserMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        Assert.Equal(2, ChatPosts.Count);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_dropped_connection_shows_an_error_with_Retry()
    {
        await AskAsync("Drop this one. [emulator:drop] [emulator:delay=1]");

        await ExpectStatusAsync("error");
        var notice = Page.GetByTestId("error-notice");
        await Expect(notice).ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(notice).ToHaveTextAsync(new Regex(@"\w{3,}"), new() { Timeout = Short });
        await Expect(Page.GetByTestId("retry-button")).ToBeEnabledAsync(new() { Timeout = Short });
        await Expect(Page.GetByTestId("countdown")).ToHaveCountAsync(0, new() { Timeout = Short });
        await Expect(Page.GetByTestId("send-button")).ToBeVisibleAsync(new() { Timeout = Short });
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_prompt_too_long_for_the_model_shows_the_field_error()
    {
        // About 600 KB of varied words: under the 1 MiB body limit, far over the 128k-token context window.
        var words = new StringBuilder();
        var random = new Random(42);
        while (words.Length < 600_000)
        {
            words.Append(Syllables[random.Next(Syllables.Length)]).Append(Syllables[random.Next(Syllables.Length)]).Append(random.Next(1000)).Append(' ');
        }

        var prompt = words.ToString().TrimEnd();
        await Composer.FillAsync(prompt, new() { Timeout = Wait });
        await Composer.PressAsync("Enter", new() { Timeout = Wait });

        var error = Page.GetByTestId("field-error");
        await Expect(error).ToHaveCountAsync(1, new() { Timeout = Wait });
        await Expect(error).ToContainTextAsync("Conversation:", new() { Timeout = Short });
        await Expect(error).ToHaveTextAsync(new Regex(@"Conversation:\s*\S+"), new() { Timeout = Short });
        await Expect(Composer).ToHaveAttributeAsync("aria-invalid", "true", new() { Timeout = Short });

        // Nothing was added to the thread, and the text is back in the composer to be fixed.
        await Expect(UserMessages).ToHaveCountAsync(0, new() { Timeout = Short });
        await Expect(AssistantMessages).ToHaveCountAsync(0, new() { Timeout = Short });
        Assert.Equal(prompt.Length, (await Composer.InputValueAsync(new() { Timeout = Short })).Length);
        Assert.Single(ChatPosts);
    }

    private static readonly string[] Syllables = ["ka", "lo", "mir", "tes", "van", "qu", "zo", "rep", "lin", "dar", "ox", "pel", "sut", "gri"];
}
