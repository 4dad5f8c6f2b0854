using System.Text.Json;
using System.Text.Json.Nodes;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using static GptAspire.OpenAIEmulator.Tests.Infrastructure.ToolChat;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>
/// When the emulator calls a tool and what it says after the results: the question's intent among the tools
/// offered, <c>tool_choice</c>, the <c>[emulator:tool=…]</c> and <c>[emulator:tool-rounds=N]</c> directives, the
/// same calls for the same conversation, an answer that quotes the results, and the exact continuation of it.
/// </summary>
public sealed class ToolCallBehaviourTests(EmulatorFixture emulator)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private async Task<JsonElement> CompleteAsync(JsonObject body)
    {
        using var client = emulator.CreateHttpClient();
        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, Cancellation);
        Assert.Equal(200, (int)response.StatusCode);
        return await Chat.JsonAsync(response);
    }

    private static string FinishReason(JsonElement completion) => completion.GetProperty("choices")[0].GetProperty("finish_reason").GetString()!;

    private static string Content(JsonElement completion) => completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Directives_force_calls_with_exactly_the_arguments_written_broken_ones_and_unknown_tools_included()
    {
        var completion = await CompleteAsync(Body("""
            Check these [emulator:tool=calculate {"expression": "1/0"}] [emulator:tool=get_current_time {"timeZone": "Asia/Tok]
            [emulator:tool=no_such_tool] [emulator:tool=calculate {"list": [1, 2], "nested": {"a": "]"}}]
            """));

        Assert.Equal("tool_calls", FinishReason(completion));
        Assert.Equal(
            [
                ("calculate", """{"expression": "1/0"}"""),
                ("get_current_time", """{"timeZone": "Asia/Tok"""),
                ("no_such_tool", "{}"),
                ("calculate", """{"list": [1, 2], "nested": {"a": "]"}}"""),
            ],
            Calls(completion).Select(call => (call.Name, call.Arguments)));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_same_conversation_at_temperature_0_gets_the_same_ids_and_arguments_and_another_gets_other_ids()
    {
        var first = Calls(await CompleteAsync(Body("What time is it in Paris and what is 6*7?")));
        var again = Calls(await CompleteAsync(Body("What time is it in Paris and what is 6*7?")));
        var other = Calls(await CompleteAsync(Body("What time is it in Berlin and what is 6*7?")));

        Assert.Equal(first, again);
        Assert.Equal(2, first.Count);
        Assert.NotEqual(first[0].Id, other[0].Id);
        Assert.NotEqual(first[1].Id, other[1].Id);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Tool_choice_none_answers_in_text_and_a_question_for_no_tool_gets_the_ordinary_answer()
    {
        var none = Body("What time is it in Tokyo?");
        none["tool_choice"] = "none";

        Assert.Equal("stop", FinishReason(await CompleteAsync(none)));
        var ordinary = await CompleteAsync(Body("Explain how lighthouses work"));
        Assert.Equal(Content(await CompleteAsync(Chat.Body("Explain how lighthouses work"))), Content(ordinary));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Without_tools_a_tool_directive_changes_nothing_in_the_answer()
    {
        var plain = await CompleteAsync(Chat.Body("Tell me about harbours"));
        var withDirective = await CompleteAsync(Chat.Body("""Tell me about harbours [emulator:tool=calculate {"expression": "1+1"}]"""));

        Assert.Equal("stop", FinishReason(withDirective));
        Assert.Equal(Content(plain), Content(withDirective));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Required_or_a_named_tool_makes_a_call_even_when_the_question_asks_for_none()
    {
        var required = Body("Explain how lighthouses work");
        required["tool_choice"] = "required";
        var named = Body("What time is it in Tokyo?");
        named["tool_choice"] = JsonNode.Parse("""{"type":"function","function":{"name":"calculate"}}""");

        var (_, requiredName, requiredArguments) = Assert.Single(Calls(await CompleteAsync(required)));
        var (_, namedName, namedArguments) = Assert.Single(Calls(await CompleteAsync(named)));

        Assert.Equal(("get_current_time", "{}"), (requiredName, requiredArguments));
        Assert.Equal(("calculate", "{}"), (namedName, namedArguments));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Only_tools_offered_are_called()
    {
        var body = Chat.Body("What time is it in Tokyo, and what is 2+2?");
        body["tools"] = new JsonArray(Tools()[1]!.DeepClone());

        var (_, name, _) = Assert.Single(Calls(await CompleteAsync(body)));

        Assert.Equal("calculate", name);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task After_the_results_the_answer_quotes_them_in_the_order_of_the_calls()
    {
        var completion = await CompleteAsync(AfterResults("What time is it in Tokyo, and what is (12.5 + 7) * 3?",
        [
            ("call_aaaaaaaaaaaaaaaaaaaaaaaa", "get_current_time", """{"timeZone":"Asia/Tokyo"}""", """{"timeZone":"Asia/Tokyo","localTime":"2026-12-05T12:34:56+09:00","utcOffset":"+09:00"}"""),
            ("call_bbbbbbbbbbbbbbbbbbbbbbbb", "calculate", """{"expression":"(12.5 + 7) * 3"}""", """{"expression":"(12.5 + 7) * 3","value":58.5}"""),
        ]));

        Assert.Equal("stop", FinishReason(completion));
        var content = Content(completion);
        Assert.Contains("**12:34**", content);
        Assert.Contains("`2026-12-05T12:34:56+09:00`", content);
        Assert.Contains("`(12.5 + 7) * 3` = **58.5**", content);
        Assert.True(content.IndexOf("12:34", StringComparison.Ordinal) < content.IndexOf("58.5", StringComparison.Ordinal));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_error_result_is_reported_and_text_results_are_quoted_as_code()
    {
        var completion = await CompleteAsync(AfterResults("What is 1/0?",
        [
            ("call_cccccccccccccccccccccccc", "calculate", """{"expression":"1/0"}""", """{"error":"Division by zero."}"""),
            ("call_dddddddddddddddddddddddd", "get_current_time", "{}", "<b>not json</b> `x`"),
        ]));

        var content = Content(completion);
        Assert.Contains("`calculate` failed: `Division by zero.`", content);
        Assert.Contains("`get_current_time` returned `<b>not json</b> 'x'`", content);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Tool_rounds_keeps_calling_until_that_many_rounds_have_results()
    {
        const string prompt = "What time is it in Tokyo? [emulator:tool-rounds=3]";
        var body = Body(prompt);
        for (var round = 1; round <= 3; round++)
        {
            var completion = await CompleteAsync(body);
            Assert.Equal("tool_calls", FinishReason(completion));
            var (id, name, arguments) = Assert.Single(Calls(completion));
            var messages = body["messages"]!.AsArray();
            messages.Add(JsonNode.Parse(completion.GetProperty("choices")[0].GetProperty("message").GetRawText()));
            messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = id, ["content"] = $$"""{"timeZone":"Asia/Tokyo","localTime":"2026-12-05T12:3{{round}}:00+09:00"}""" });
        }

        var answer = await CompleteAsync(body);
        Assert.Equal("stop", FinishReason(answer));
        Assert.Contains("12:33", Content(answer));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_answer_after_tool_results_cut_anywhere_is_continued_with_exactly_the_rest()
    {
        using var client = emulator.CreateHttpClient();
        const string prompt = "What is 6*7?";
        (string, string, string, string)[] results = [("call_eeeeeeeeeeeeeeeeeeeeeeee", "calculate", """{"expression":"6*7"}""", """{"expression":"6*7","value":42}""")];
        var reply = Content(await CompleteAsync(AfterResults(prompt, results)));
        Assert.Contains("**42**", reply);

        foreach (var cut in new[] { 1, reply.Length / 2, reply.Length - 1 })
        {
            var body = AfterResults(prompt, results, stream: true);
            body["messages"]!.AsArray().Add(new JsonObject { ["role"] = "assistant", ["content"] = reply[..cut] });
            using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, Cancellation);
            Assert.Equal(reply[cut..], Chat.Text(Chat.Chunks(await Chat.EventsAsync(response))));
        }
    }
}
