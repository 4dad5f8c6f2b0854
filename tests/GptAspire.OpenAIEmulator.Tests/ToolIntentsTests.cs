using GptAspire.OpenAIEmulator.Services;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>Which calls a question asks for, among the app's two tools, as the emulator reads it.</summary>
public sealed class ToolIntentsTests
{
    private static readonly string[] BothTools = [ToolIntents.TimeTool, ToolIntents.CalculateTool];

    [Theory]
    [InlineData("What time is it in Tokyo?", "get_current_time", """{"timeZone":"Asia/Tokyo"}""")]
    [InlineData("what's the time in new york right now", "get_current_time", """{"timeZone":"America/New_York"}""")]
    [InlineData("Tokyo time please", "get_current_time", """{"timeZone":"Asia/Tokyo"}""")]
    [InlineData("What is the current time in Europe/Lisbon?", "get_current_time", """{"timeZone":"Europe/Lisbon"}""")]
    [InlineData("What time is it?", "get_current_time", """{"timeZone":"UTC"}""")]
    [InlineData("What is 12*(3+4)?", "calculate", """{"expression":"12*(3+4)"}""")]
    [InlineData("calculate 2^10", "calculate", """{"expression":"2^10"}""")]
    [InlineData("(12.5 + 7) * 3 = ?", "calculate", """{"expression":"(12.5 + 7) * 3"}""")]
    public void A_question_for_one_tool_gets_one_call(string question, string name, string arguments)
    {
        var call = Assert.Single(ToolIntents.Match(question, BothTools));

        Assert.Equal((name, arguments), (call.Name, call.Arguments));
    }

    [Theory]
    [InlineData("Tell me about Tokyo")]
    [InlineData("How much time does a build take?")]
    [InlineData("Explain HTTP/2 and gpt-4o")]
    [InlineData("Once 1b4e28ba-2fa1-11d2-883f-0016d3cca427, please")]
    [InlineData("What happened on 2026-12-05?")]
    public void A_question_for_no_tool_gets_no_call(string question) => Assert.Empty(ToolIntents.Match(question, BothTools));

    [Fact]
    public void Several_asks_are_calls_in_the_order_asked_and_only_of_tools_offered()
    {
        const string question = "What is 6*7, and what time is it in London and in Sydney?";

        Assert.Equal(
            [("calculate", """{"expression":"6*7"}"""), ("get_current_time", """{"timeZone":"Europe/London"}"""), ("get_current_time", """{"timeZone":"Australia/Sydney"}""")],
            ToolIntents.Match(question, BothTools).Select(call => (call.Name, call.Arguments)));
        Assert.Equal(["calculate"], ToolIntents.Match(question, [ToolIntents.CalculateTool]).Select(call => call.Name));
    }
}
