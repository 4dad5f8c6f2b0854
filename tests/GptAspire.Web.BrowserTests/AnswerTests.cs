using System.Text.Json;
using System.Text.RegularExpressions;

namespace GptAspire.Web.BrowserTests;

/// <summary>What a person does with an answer: read its highlighted code, copy it, ask again, catch up with it.</summary>
public sealed partial class AnswerTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    private ILocator HighlightedCode => LastAnswerText.Locator("pre code [class^='hljs-']");

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Code_blocks_are_highlighted_while_the_answer_streams()
    {
        await AskAsync("Show me streaming code. [emulator:long] [emulator:delay=15]");

        // Sampled in one go: highlighted code on screen while the answer still says it is streaming.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        (string Status, int Spans) sample;
        do
        {
            var result = await LastAnswer.EvaluateAsync<JsonElement>(
                """
                el => ({
                  status: el.dataset.status ?? '',
                  spans: el.querySelectorAll('pre code [class^="hljs-"]').length
                })
                """,
                null,
                new() { Timeout = Short });
            sample = (result.GetProperty("status").GetString()!, result.GetProperty("spans").GetInt32());
            await Task.Delay(50, Cancellation);
        }
        while (sample is { Status: "streaming", Spans: 0 } && clock.Elapsed < TimeSpan.FromSeconds(60));

        Assert.Equal("streaming", sample.Status);
        Assert.True(sample.Spans > 0);
        // Colours come from classes and the stylesheet: no inline style anywhere in the answer.
        Assert.Equal(0, await LastAnswerText.Locator("[style]").CountAsync());

        await Page.GetByTestId("stop-button").ClickAsync(new() { Timeout = Short });
        await ExpectStatusAsync("stopped", Short);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task Highlighted_code_is_readable_in_light_and_dark(ColorScheme scheme)
    {
        await Page.EmulateMediaAsync(new() { ColorScheme = scheme });
        await AskAsync("Show me some code. [emulator:long=600] [emulator:delay=1]");
        await ExpectStatusAsync("done");
        await Expect(HighlightedCode.First).ToBeAttachedAsync(new() { Timeout = Short });

        // Every colour used for code against its block's background, by WCAG's contrast formula.
        var colours = await LastAnswerText.EvaluateAsync<JsonElement>(
            """
            el => {
              const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
              const luminance = ([r, g, b]) => {
                const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
              };
              const contrast = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
              const result = [];
              for (const span of el.querySelectorAll('pre code [class^="hljs-"]')) {
                const background = rgb(getComputedStyle(span.closest('pre')).backgroundColor);
                const colour = getComputedStyle(span).color;
                result.push({ cls: span.className, colour, background: luminance(background), contrast: contrast(rgb(colour), background) });
              }
              return result;
            }
            """,
            null,
            new() { Timeout = Short });

        var spans = colours.EnumerateArray().ToList();
        Assert.NotEmpty(spans);
        var distinct = spans.Select(s => s.GetProperty("colour").GetString()).Distinct().ToList();
        Assert.True(distinct.Count >= 3, $"Code has {distinct.Count} colour(s): {string.Join(", ", distinct)}.");
        var background = spans[0].GetProperty("background").GetDouble();
        Assert.True(scheme == ColorScheme.Dark ? background < 0.05 : background > 0.8, $"Code background luminance {background} in {scheme}.");
        var worst = spans.MinBy(s => s.GetProperty("contrast").GetDouble());
        Assert.True(worst.GetProperty("contrast").GetDouble() >= 4.5, $"Code colour contrast below 4.5:1 in {scheme}: {worst}.");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Copy_answer_puts_the_whole_answer_on_the_clipboard_as_Markdown()
    {
        await Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = App.WebUrl.GetLeftPart(UriPartial.Authority) });
        await AskAsync("What code should I copy? [emulator:delay=1]");
        await ExpectStatusAsync("done");

        var copy = LastAnswer.GetByRole(AriaRole.Button, new() { Name = "Copy answer" });
        await copy.ClickAsync(new() { Timeout = Short });

        await Expect(LastAnswer.GetByTestId("copy-answer-button")).ToHaveTextAsync("Copied", new() { Timeout = Short });
        var clipboard = await Page.EvaluateAsync<string>("() => navigator.clipboard.readText()");
        var shown = await LastAnswerText.InnerTextAsync(new() { Timeout = Short });
        // The Markdown source: the code fence and the bold markers are there, and so is every line shown.
        Assert.Contains("```", clipboard);
        Assert.Contains("**", clipboard);
        var firstLine = shown.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
        Assert.Contains(firstLine.Replace("**", "")[..20], clipboard.Replace("**", ""));
        Assert.True(clipboard.Length >= shown.Length - 20, $"The clipboard has {clipboard.Length} characters; the answer shows {shown.Length}.");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Regenerate_asks_again_with_the_same_conversation_and_replaces_the_answer()
    {
        await AskAsync("Give me an idea. [emulator:delay=1]");
        await ExpectStatusAsync("done");
        var first = await Page.RunAndWaitForRequestAsync(
            () => Page.GetByRole(AriaRole.Button, new() { Name = "Regenerate" }).ClickAsync(new() { Timeout = Short }),
            request => request.Method == "POST" && request.Url.EndsWith("/api/chat/stream", StringComparison.Ordinal),
            new() { Timeout = Short });

        await ExpectStatusAsync("done");

        Assert.Equal(2, ChatPosts.Count);
        Assert.Equal("""{"messages":[{"role":"user","content":"Give me an idea. [emulator:delay=1]"}]}""", first.PostData);
        await Expect(AssistantMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        await Expect(UserMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        await Expect(LastAnswerText).ToHaveTextAsync(new Regex(@"\S"), new() { Timeout = Short });
        await UpstreamCallAsync(TraceIdOfPost(1), r => r.GetProperty("completed").GetBoolean());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Scrolling_up_stops_following_the_answer_and_a_button_brings_it_back()
    {
        var thread = Page.GetByRole(AriaRole.Region, new() { Name = "Conversation" });
        var toBottom = Page.GetByRole(AriaRole.Button, new() { Name = "Latest message" });
        await AskAsync("Write at length about scrolling. [emulator:long] [emulator:delay=10]");
        await ExpectStatusAsync("streaming");

        // While at the bottom the page follows the answer.
        await AtTheBottomAsync(thread, Wait);
        await Expect(LastAnswerText).ToHaveAttributeAsync("data-rendered-length", new Regex(@"^\d{4,}$"), new() { Timeout = Wait });
        await Expect(toBottom).ToHaveCountAsync(0, new() { Timeout = Short });

        // Scrolled up, the reader stays where they are while the answer grows.
        await thread.HoverAsync(new() { Timeout = Short });
        await Page.Mouse.WheelAsync(0, -600);
        await Expect(toBottom).ToBeVisibleAsync(new() { Timeout = Short });
        var scrolledTo = await thread.EvaluateAsync<double>("el => el.scrollTop", null, new() { Timeout = Short });
        await Task.Delay(500, Cancellation);
        Assert.Equal(scrolledTo, await thread.EvaluateAsync<double>("el => el.scrollTop", null, new() { Timeout = Short }));
        Assert.True(await DistanceFromBottomAsync(thread) > 100);

        await toBottom.ClickAsync(new() { Timeout = Short });

        await Expect(toBottom).ToHaveCountAsync(0, new() { Timeout = Short });
        await AtTheBottomAsync(thread, Short);
        await Page.GetByTestId("stop-button").ClickAsync(new() { Timeout = Short });
        await ExpectStatusAsync("stopped", Short);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_slow_first_token_shows_the_seconds_waited()
    {
        await AskAsync("Take your time. [emulator:slow-first-token=4000] [emulator:delay=1]");

        var wait = LastAnswer.GetByTestId("first-token-wait");
        await Expect(wait).ToBeVisibleAsync(new() { Timeout = Wait });
        await Expect(LastAnswer.GetByTestId("waited-seconds")).ToHaveTextAsync("2", new() { Timeout = Wait });
        await ExpectStatusAsync("done");

        await Expect(wait).ToHaveCountAsync(0, new() { Timeout = Short });
        await Expect(LastAnswerText).ToHaveTextAsync(new Regex(@"\S"), new() { Timeout = Short });
    }

    private static async Task AtTheBottomAsync(ILocator thread, float timeoutMs)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        double distance;
        while ((distance = await DistanceFromBottomAsync(thread)) >= 48 && clock.ElapsedMilliseconds < timeoutMs)
        {
            await Task.Delay(50, Cancellation);
        }

        Assert.True(distance < 48, $"The conversation is {distance} px above its bottom.");
    }

    private static Task<double> DistanceFromBottomAsync(ILocator thread) =>
        thread.EvaluateAsync<double>("el => el.scrollHeight - el.scrollTop - el.clientHeight", null, new() { Timeout = Short });
}
