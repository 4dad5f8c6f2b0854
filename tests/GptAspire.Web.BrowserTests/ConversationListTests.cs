using System.Text.Json;
using System.Text.RegularExpressions;

namespace GptAspire.Web.BrowserTests;

/// <summary>Several conversations in the browser, each with its settings; on a wide screen and on a phone.</summary>
public sealed class ConversationListTests(AppHostFixture app, BrowserFixture browser) : BrowserTest(app, browser)
{
    private ILocator List => Page.GetByRole(AriaRole.Navigation, new() { Name = "Conversations" });

    private ILocator Items => List.GetByTestId("conversation-select");

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Conversations_can_be_switched_renamed_and_deleted_and_the_current_one_survives_a_reload()
    {
        await AskAsync("First topic: queues [emulator:delay=1]");
        await ExpectStatusAsync("done");
        await Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync(new() { Timeout = Short });
        await Expect(UserMessages).ToHaveCountAsync(0, new() { Timeout = Short });
        await Expect(Composer).ToBeFocusedAsync(new() { Timeout = Short });
        await AskAsync("Second topic: caches [emulator:delay=1]");
        await ExpectStatusAsync("done");
        await AskAsync("Third topic: to delete [emulator:delay=1]");
        await ExpectStatusAsync("done");
        await Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync(new() { Timeout = Short });
        await AskAsync("Doomed [emulator:delay=1]");
        await ExpectStatusAsync("done");

        await Expect(Items).ToHaveTextAsync(["Doomed [emulator:delay=1]", "Second topic: caches [emulator:delay=1]", "First topic: queues [emulator:delay=1]"], new() { Timeout = Short });

        // Switch, by keyboard: the list's buttons are ordinary buttons.
        await Items.Nth(2).FocusAsync(new() { Timeout = Short });
        await Page.Keyboard.PressAsync("Enter");
        await Expect(UserMessages).ToHaveTextAsync(["First topic: queues [emulator:delay=1]"], new() { Timeout = Short });
        await Expect(Items.Nth(2)).ToHaveAttributeAsync("aria-current", "page", new() { Timeout = Short });

        // Rename: Enter keeps the new name.
        await List.GetByRole(AriaRole.Button, new() { Name = "Rename First topic: queues [emulator:delay=1]" }).ClickAsync(new() { Timeout = Short });
        var name = List.GetByLabel("Name of the conversation");
        await Expect(name).ToBeFocusedAsync(new() { Timeout = Short });
        await name.FillAsync("Queues", new() { Timeout = Short });
        await name.PressAsync("Enter", new() { Timeout = Short });
        await Expect(Items.Nth(2)).ToHaveTextAsync("Queues", new() { Timeout = Short });
        await Expect(Page.GetByTestId("conversation-title")).ToHaveTextAsync("Queues", new() { Timeout = Short });

        // Delete asks first.
        await List.GetByRole(AriaRole.Button, new() { Name = "Delete Doomed [emulator:delay=1]" }).ClickAsync(new() { Timeout = Short });
        await List.GetByRole(AriaRole.Button, new() { Name = "Delete", Exact = true }).ClickAsync(new() { Timeout = Short });
        await Expect(Items).ToHaveTextAsync(["Second topic: caches [emulator:delay=1]", "Queues"], new() { Timeout = Short });
        await Expect(UserMessages).ToHaveTextAsync(["First topic: queues [emulator:delay=1]"], new() { Timeout = Short });

        await Page.ReloadAsync(new() { Timeout = 60_000 });

        await Expect(Items).ToHaveTextAsync(["Second topic: caches [emulator:delay=1]", "Queues"], new() { Timeout = Wait });
        await Expect(Items.Nth(1)).ToHaveAttributeAsync("aria-current", "page", new() { Timeout = Short });
        await Expect(UserMessages).ToHaveTextAsync(["First topic: queues [emulator:delay=1]"], new() { Timeout = Short });
        await Items.Nth(0).ClickAsync(new() { Timeout = Short });
        await Expect(UserMessages).ToHaveTextAsync(["Second topic: caches [emulator:delay=1]", "Third topic: to delete [emulator:delay=1]"], new() { Timeout = Short });
        await Expect(AssistantMessages).ToHaveCountAsync(2, new() { Timeout = Short });
        Assert.Equal(4, ChatPosts.Count);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Settings_are_sent_with_every_request_and_saved_with_the_conversation()
    {
        await Page.GetByRole(AriaRole.Button, new() { Name = "Settings", Exact = true }).ClickAsync(new() { Timeout = Short });
        await Page.GetByLabel("System prompt").FillAsync("Answer in one short paragraph.", new() { Timeout = Short });
        await Page.GetByLabel("Temperature (0–2)").FillAsync("0.4", new() { Timeout = Short });
        await Page.GetByLabel("Maximum answer tokens").FillAsync("20", new() { Timeout = Short });

        var request = await Page.RunAndWaitForRequestAsync(
            () => AskAsync("How long may an answer be? [emulator:delay=1]"),
            r => r.Method == "POST" && r.Url.EndsWith("/api/chat/stream", StringComparison.Ordinal),
            new() { Timeout = Short });
        await ExpectStatusAsync("done");

        using var body = JsonDocument.Parse(request.PostData!);
        Assert.Equal(0.4, body.RootElement.GetProperty("temperature").GetDouble());
        Assert.Equal(20, body.RootElement.GetProperty("maxTokens").GetInt32());
        var messages = body.RootElement.GetProperty("messages");
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("Answer in one short paragraph.", messages[0].GetProperty("content").GetString());
        Assert.Equal("user", messages[1].GetProperty("role").GetString());

        // The model honoured the cap: 20 tokens, cut, and the page says so.
        await Expect(Page.GetByTestId("finish-notice")).ToContainTextAsync("token limit", new() { Timeout = Short });
        var upstream = await UpstreamCallAsync(TraceIdOfPost(0), r => r.GetProperty("completed").GetBoolean());
        Assert.Equal(20, upstream.GetProperty("completionTokens").GetInt32());

        // A value the API would refuse is not taken (and stops Send: PageOutcomeTests).
        await Page.GetByLabel("Temperature (0–2)").FillAsync("5", new() { Timeout = Short });
        await Expect(Page.GetByTestId("settings-panel").GetByText("Use a number from 0 to 2, or leave it empty.")).ToBeVisibleAsync(new() { Timeout = Short });

        await Page.ReloadAsync(new() { Timeout = 60_000 });
        await Page.GetByRole(AriaRole.Button, new() { Name = "Settings", Exact = true }).ClickAsync(new() { Timeout = Wait });
        await Expect(Page.GetByLabel("System prompt")).ToHaveValueAsync("Answer in one short paragraph.", new() { Timeout = Short });
        await Expect(Page.GetByLabel("Temperature (0–2)")).ToHaveValueAsync("0.4", new() { Timeout = Short });
        await Expect(Page.GetByLabel("Maximum answer tokens")).ToHaveValueAsync("20", new() { Timeout = Short });
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData(ColorScheme.Light)]
    [InlineData(ColorScheme.Dark)]
    public async Task On_a_phone_the_list_opens_over_the_chat_and_nothing_scrolls_sideways(ColorScheme scheme)
    {
        await Page.SetViewportSizeAsync(390, 844);
        await Page.EmulateMediaAsync(new() { ColorScheme = scheme });
        await AskAsync("A phone-sized answer with code [emulator:delay=1]");
        await ExpectStatusAsync("done");
        await Expect(LastAnswerText.Locator("pre").First).ToBeVisibleAsync(new() { Timeout = Short });
        await Page.GetByRole(AriaRole.Button, new() { Name = "New chat" }).ClickAsync(new() { Timeout = Short });

        // The list is out of the way until its button opens it.
        var toggle = Page.GetByRole(AriaRole.Button, new() { Name = "Conversations" });
        await Expect(List).Not.ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(toggle).ToHaveAttributeAsync("aria-expanded", "false", new() { Timeout = Short });
        await toggle.ClickAsync(new() { Timeout = Short });
        await Expect(List).ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(toggle).ToHaveAttributeAsync("aria-expanded", "true", new() { Timeout = Short });

        // Escape closes it and gives the focus back to its button.
        await Items.First.FocusAsync(new() { Timeout = Short });
        await Page.Keyboard.PressAsync("Escape");
        await Expect(List).Not.ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(toggle).ToBeFocusedAsync(new() { Timeout = Short });

        // Choosing a conversation closes the list and shows it.
        await toggle.ClickAsync(new() { Timeout = Short });
        await Items.Filter(new() { HasText = "A phone-sized answer" }).ClickAsync(new() { Timeout = Short });
        await Expect(List).Not.ToBeVisibleAsync(new() { Timeout = Short });
        await Expect(UserMessages).ToHaveCountAsync(1, new() { Timeout = Short });
        await Expect(Composer).ToBeInViewportAsync(new() { Timeout = Short });

        // Long code scrolls inside its block; the page itself never scrolls sideways.
        var overflow = await Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"The page is {overflow} px wider than the phone.");
        var buttons = await Page.Locator("header button:visible").EvaluateAllAsync<double[]>("els => els.map(e => e.getBoundingClientRect().right)");
        Assert.All(buttons, right => Assert.True(right <= 390, $"A header button ends at {right} px, off the screen."));

        // The title gives way to the buttons: it ends before them, cut short rather than drawn under them.
        var title = Page.GetByRole(AriaRole.Heading, new() { Level = 1 });
        await Expect(title).ToContainTextAsync("A phone-sized answer", new() { Timeout = Short });
        var box = await title.EvaluateAsync<JsonElement>(
            "h => ({ right: h.getBoundingClientRect().right, clipped: getComputedStyle(h).overflow === 'hidden' || h.scrollWidth <= h.clientWidth })",
            null,
            new() { Timeout = Short });
        var (titleRight, clipped) = (box.GetProperty("right").GetDouble(), box.GetProperty("clipped").GetBoolean());
        var firstButtonLeft = await Page.GetByRole(AriaRole.Button, new() { Name = "Settings", Exact = true }).EvaluateAsync<double>("b => b.getBoundingClientRect().left");
        Assert.True(titleRight <= firstButtonLeft, $"The title ends at {titleRight} px, under the Settings button at {firstButtonLeft} px.");
        Assert.True(clipped, "The title's text runs out of its box.");
    }
}
