using System.Text.Json;
using System.Text.Json.Nodes;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using static GptAspire.OpenAIEmulator.Tests.Infrastructure.ToolChat;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>The 400s OpenAI gives for tools and tool messages, in its error shape, naming the parameter.</summary>
public sealed class ToolCallValidationTests(EmulatorFixture emulator)
{
    private async Task<JsonElement> ErrorAsync(JsonObject body)
    {
        using var client = emulator.CreateHttpClient();
        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, TestContext.Current.CancellationToken);
        Assert.Equal(400, (int)response.StatusCode);
        var error = (await Chat.JsonAsync(response)).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        return error;
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_tool_message_that_answers_no_call_is_refused()
    {
        var body = AfterResults("What is 2+2?", [("call_ffffffffffffffffffffffff", "calculate", """{"expression":"2+2"}""", "4")]);
        body["messages"]![3]!["tool_call_id"] = "call_unknown";

        var error = await ErrorAsync(body);

        Assert.Equal("messages.[3].role", error.GetProperty("param").GetString());
        Assert.Contains("must be a response to a preceeding message with 'tool_calls'", error.GetProperty("message").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Calls_left_without_results_are_refused_naming_them()
    {
        var body = AfterResults("What is 2+2?", [("call_gggggggggggggggggggggggg", "calculate", """{"expression":"2+2"}""", "4")]);
        body["messages"]!.AsArray().RemoveAt(3);
        body["messages"]!.AsArray().Add(new JsonObject { ["role"] = "user", ["content"] = "and?" });

        var error = await ErrorAsync(body);

        Assert.Equal("messages.[2].role", error.GetProperty("param").GetString());
        Assert.EndsWith("did not have response messages: call_gggggggggggggggggggggggg", error.GetProperty("message").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_tool_choice_naming_a_tool_not_offered_is_refused()
    {
        var body = Body("What is 2+2?");
        body["tool_choice"] = JsonNode.Parse("""{"type":"function","function":{"name":"get_weather"}}""");

        var error = await ErrorAsync(body);

        Assert.Equal("tool_choice", error.GetProperty("param").GetString());
        Assert.Contains("get_weather", error.GetProperty("message").GetString());
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("tool_choice", "\"auto\"")]
    [InlineData("parallel_tool_calls", "true")]
    public async Task Tool_settings_without_tools_are_refused(string parameter, string value)
    {
        var body = Chat.Body("hello");
        body[parameter] = JsonNode.Parse(value);

        var error = await ErrorAsync(body);

        Assert.Equal(parameter, error.GetProperty("param").GetString());
        Assert.Contains("only allowed when 'tools' are specified", error.GetProperty("message").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Malformed_tools_are_refused()
    {
        var empty = Chat.Body("hello");
        empty["tools"] = new JsonArray();
        var badName = Body("hello");
        badName["tools"]![0]!["function"]!["name"] = "get time";
        var badChoice = Body("hello");
        badChoice["tool_choice"] = "sometimes";

        Assert.Equal("empty_array", (await ErrorAsync(empty)).GetProperty("code").GetString());
        Assert.Equal("tools[0].function.name", (await ErrorAsync(badName)).GetProperty("param").GetString());
        Assert.Equal("invalid_value", (await ErrorAsync(badChoice)).GetProperty("code").GetString());
    }
}
