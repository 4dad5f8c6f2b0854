using System.Net.Http.Headers;
using System.Text.Json;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

public sealed class AuthenticationTests(EmulatorFixture emulator)
{
    [Theory(Timeout = Bounds.TestMs)]
    [InlineData(Chat.OpenAIPath)]
    [InlineData(Chat.AzureV1Path)]
    [InlineData(Chat.AzureDeploymentPath)]
    public async Task WithoutAKeyTheCallIsRefusedWithOpenAIs401(string path)
    {
        using var client = emulator.CreateHttpClient(withKey: false);

        using var response = await Chat.SendAsync(client, path, Chat.Body("hello"), TestContext.Current.CancellationToken);

        Assert.Equal(401, (int)response.StatusCode);
        var error = (await Chat.JsonAsync(response)).GetProperty("error");
        Assert.StartsWith("You didn't provide an API key.", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("bearer")]
    [InlineData("api-key")]
    public async Task AWrongKeyIsRefusedWithTheKeyMasked(string style)
    {
        // Shaped like an OpenAI key, with a dash so that secret scanners do not flag the test.
        const string wrongKey = "sk-abcdefghij-klmnopqrstuvwxyz";
        using var client = emulator.CreateHttpClient(withKey: false);
        using var request = Chat.Post(Chat.OpenAIPath, Chat.Body("hello"));
        if (style == "bearer")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", wrongKey);
        }
        else
        {
            Chat.AddApiKeyHeader(request, wrongKey);
        }

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(401, (int)response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.StartsWith("Incorrect API key provided: sk-ab*", error.GetProperty("message").GetString());
        Assert.Contains("*xyz.", error.GetProperty("message").GetString());
        Assert.DoesNotContain("abcdefghij", body);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task EitherHeaderStyleIsAcceptedOnEveryRoute()
    {
        using var client = emulator.CreateHttpClient(withKey: false);
        using var apiKeyOnOpenAI = Chat.Post(Chat.OpenAIPath, Chat.Body("hello"));
        Chat.AddApiKeyHeader(apiKeyOnOpenAI, EmulatorFactory.ApiKey);
        using var bearerOnAzure = Chat.Post(Chat.AzureDeploymentPath, Chat.Body("hello"));
        bearerOnAzure.Headers.Authorization = new AuthenticationHeaderValue("Bearer", EmulatorFactory.ApiKey);

        using var openAI = await client.SendAsync(apiKeyOnOpenAI, TestContext.Current.CancellationToken);
        using var azure = await client.SendAsync(bearerOnAzure, TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)openAI.StatusCode);
        Assert.Equal(200, (int)azure.StatusCode);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("/v1/models")]
    [InlineData("/openai/v1/models")]
    public async Task ModelsAreListedOnlyWithTheKey(string path)
    {
        using var anonymous = emulator.CreateHttpClient(withKey: false);
        using var client = emulator.CreateHttpClient();

        using var refused = await anonymous.GetAsync(path, TestContext.Current.CancellationToken);
        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(401, (int)refused.StatusCode);
        var list = await Chat.JsonAsync(response);
        Assert.Equal("list", list.GetProperty("object").GetString());
        var model = list.GetProperty("data").EnumerateArray().Single(model => model.GetProperty("id").GetString() == "gpt-4o-mini");
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal("system", model.GetProperty("owned_by").GetString());
        Assert.True(model.GetProperty("created").GetInt64() > 1_600_000_000);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("/_emulator/requests")]
    [InlineData("/health")]
    public async Task TheEmulatorsOwnEndpointsNeedNoKey(string path)
    {
        using var client = emulator.CreateHttpClient(withKey: false);

        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);

        Assert.Equal(200, (int)response.StatusCode);
    }
}
