using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

public sealed class ValidationTests(EmulatorFixture emulator)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task MissingMessagesIsA400NamingTheParameter()
    {
        var error = await ErrorAsync(Chat.OpenAIPath, new JsonObject { ["model"] = "gpt-4o-mini" });

        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Equal("missing_required_parameter", error.GetProperty("code").GetString());
        Assert.Equal("Missing required parameter: 'messages'.", error.GetProperty("message").GetString());
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData(Chat.OpenAIPath)]
    [InlineData(Chat.AzureV1Path)]
    public async Task MissingModelIsA400OnRoutesWithoutADeployment(string path)
    {
        var error = await ErrorAsync(path, Chat.Body("hello", model: null));

        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task TheDeploymentRouteTakesTheModelFromThePath()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, "/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21", Chat.Body("hello", model: null), TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("my-deployment", (await Chat.JsonAsync(response)).GetProperty("model").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task TheDeploymentRouteRequiresAnApiVersion()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, "/openai/deployments/gpt-4o-mini/chat/completions", Chat.Body("hello"), TestContext.Current.CancellationToken);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("api-version", (await Chat.JsonAsync(response)).GetProperty("error").GetProperty("message").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task EmptyMessagesIsA400()
    {
        var error = await ErrorAsync(Chat.OpenAIPath, new JsonObject { ["model"] = "gpt-4o-mini", ["messages"] = new JsonArray() });

        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Equal("empty_array", error.GetProperty("code").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task AnUnknownRoleIsA400NamingTheMessage()
    {
        var body = Chat.Body("hello");
        body["messages"]![1]!["role"] = "wizard";

        var error = await ErrorAsync(Chat.OpenAIPath, body);

        Assert.Equal("messages[1].role", error.GetProperty("param").GetString());
        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task MaxTokensBelowOneIsA400()
    {
        var body = Chat.Body("hello", maxTokens: 0);

        var error = await ErrorAsync(Chat.OpenAIPath, body);

        Assert.Equal("max_tokens", error.GetProperty("param").GetString());
        Assert.Equal("integer_below_min_value", error.GetProperty("code").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task InvalidJsonIsA400WithOpenAIsMessage()
    {
        using var client = emulator.CreateHttpClient();
        using var content = new StringContent("{\"model\": \"gpt-4o-mini\", \"messages\": [", Encoding.UTF8, "application/json");

        using var response = await client.PostAsync(Chat.OpenAIPath, content, TestContext.Current.CancellationToken);

        Assert.Equal(400, (int)response.StatusCode);
        var error = (await Chat.JsonAsync(response)).GetProperty("error");
        Assert.StartsWith("We could not parse the JSON body of your request.", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    private async Task<JsonElement> ErrorAsync(string path, JsonNode body)
    {
        using var client = emulator.CreateHttpClient();
        using var response = await Chat.SendAsync(client, path, body, TestContext.Current.CancellationToken);
        Assert.Equal(400, (int)response.StatusCode);
        return (await Chat.JsonAsync(response)).GetProperty("error");
    }
}
