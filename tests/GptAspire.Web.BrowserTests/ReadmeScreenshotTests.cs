namespace GptAspire.Web.BrowserTests;

/// <summary>
/// The README's picture of the chat page, made by this test: set <c>UPDATE_README_SCREENSHOTS=1</c> to
/// write <c>docs/images/chat.png</c>. Without it the same steps run and are checked, and nothing is written.
/// </summary>
public sealed class ReadmeScreenshotTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_chat_page_after_a_finished_answer()
    {
        // Two earlier conversations in the list, the third on screen.
        foreach (var topic in new[] { "Retry policies for flaky HTTP calls", "Tracing a request across services" })
        {
            await AskAsync($"{topic} [emulator:delay=1]");
            await ExpectStatusAsync("done");
            await Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync(new() { Timeout = Short });
        }

        await AskAsync("How does GptAspire stream answers to the browser?");
        await ExpectStatusAsync("done");
        await Expect(Page.GetByTestId("usage")).ToHaveTextAsync(
            new System.Text.RegularExpressions.Regex(@"^\s*[1-9][\d,]* tokens"), new() { Timeout = Short });
        await Expect(Page.GetByTestId("send-button")).ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(Page.GetByTestId("edit-button")).ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(Page.GetByTestId("conversation-select")).ToHaveCountAsync(3, new() { Timeout = Short });
        await Composer.FillAsync("And how do I stop it?", new() { Timeout = Short });
        await Composer.BlurAsync(new() { Timeout = Short });

        // The question and its answer down to the highlighted code block, above the usage line and the composer.
        var code = LastAnswerText.Locator("pre code [class^='hljs-']").First;
        await Expect(code).ToBeAttachedAsync(new() { Timeout = Short });
        var thread = Page.GetByRole(AriaRole.Region, new() { Name = "Conversation" });
        await thread.EvaluateAsync("el => { el.scrollTop = 0 }", null, new() { Timeout = Short });
        await Expect(UserMessages.First).ToBeInViewportAsync(new() { Timeout = Short });
        await Expect(AssistantMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        if (!await code.IsVisibleAsync() || await thread.EvaluateAsync<bool>(
                "(el) => { const pre = el.querySelector('pre'); return pre.getBoundingClientRect().bottom > el.getBoundingClientRect().bottom }"))
        {
            await LastAnswerText.Locator("pre").First.EvaluateAsync("pre => pre.scrollIntoView({ block: 'end' })", null, new() { Timeout = Short });
        }

        await Expect(LastAnswerText.Locator("pre").First).ToBeInViewportAsync(new() { Ratio = 1, Timeout = Short });

        var update = Environment.GetEnvironmentVariable("UPDATE_README_SCREENSHOTS") == "1";
        var options = new PageScreenshotOptions { Type = ScreenshotType.Png, Timeout = Wait };
        if (update)
        {
            options.Path = Path.Combine(RepositoryRoot(), "docs", "images", "chat.png");
            Directory.CreateDirectory(Path.GetDirectoryName(options.Path)!);
        }

        var png = await Page.ScreenshotAsync(options);

        // The README shows the picture this test makes: the committed one has its size, and the page it shows
        // was rendered (a blank or unstyled page compresses to a small fraction of a full one).
        var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "README.md"), Cancellation);
        Assert.Contains("docs/images/chat.png", readme);
        var committed = await File.ReadAllBytesAsync(Path.Combine(RepositoryRoot(), "docs", "images", "chat.png"), Cancellation);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal((ReadBigEndian(committed, 16), ReadBigEndian(committed, 20)), (ReadBigEndian(png, 16), ReadBigEndian(png, 20)));
        Assert.True(png.Length > committed.Length / 3, $"the screenshot is {png.Length} bytes, the README's {committed.Length}: a page with far less on it");
    }

    private static int ReadBigEndian(byte[] bytes, int offset) =>
        (bytes[offset] << 24) | (bytes[offset + 1] << 16) | (bytes[offset + 2] << 8) | bytes[offset + 3];
}
