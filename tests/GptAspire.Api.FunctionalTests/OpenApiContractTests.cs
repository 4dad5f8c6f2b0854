using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// The API's OpenAPI document is committed beside it (<c>GptAspire.Api/GptAspire.Api.json</c>), where the page's
/// contract test (<c>GptAspire.Web/src/api/__tests__/chatEvents.contract.spec.ts</c>) reads it. These tests hold
/// the committed file to what the API serves; <c>UPDATE_OPENAPI=1</c> rewrites it.
/// </summary>
public class OpenApiContractTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_committed_OpenAPI_document_is_the_one_the_API_serves()
    {
        var served = await ServedDocumentAsync();
        var path = Path.Combine(RepositoryRoot(), "GptAspire.Api", "GptAspire.Api.json");
        var text = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1")
        {
            await File.WriteAllTextAsync(path, text, Timeout);
        }

        Assert.True(File.Exists(path), $"{path} is missing: run this test with UPDATE_OPENAPI=1 to write it.");
        var committed = JsonNode.Parse(await File.ReadAllTextAsync(path, Timeout));
        Assert.True(
            JsonNode.DeepEquals(committed, served),
            $"{path} differs from the API's /openapi/v1.json: run this test with UPDATE_OPENAPI=1 and commit the file.");
    }

    [Fact]
    public async Task The_stream_endpoints_answer_200_text_event_stream_with_one_schema_per_event()
    {
        var document = await ServedDocumentAsync();

        foreach (var (path, method) in new[] { ("/api/chat/stream", "post"), ("/api/chat/stream/{requestId}", "get") })
        {
            var schema = document["paths"]![path]![method]!["responses"]!["200"]!["content"]!["text/event-stream"]!["schema"]!;
            Assert.Equal("#/components/schemas/ChatStreamEvent", schema["$ref"]!.GetValue<string>());
        }

        var schemas = document["components"]!["schemas"]!;
        var events = schemas["ChatStreamEvent"]!["oneOf"]!.AsArray()
            .Select(e => (Name: e!["properties"]!["event"]!["enum"]![0]!.GetValue<string>(), Data: e["properties"]!["data"]!["$ref"]!.GetValue<string>()));
        Assert.Equal(
            [("start", "StartEvent"), ("token", "TokenEvent"), ("tool_call", "ToolCallEvent"), ("tool_result", "ToolResultEvent"),
             ("usage", "UsageEvent"), ("finish", "FinishEvent"), ("error", "ErrorEvent")],
            events.Select(e => (e.Name, e.Data.Split('/')[^1])));
        Assert.Contains("content_filter", schemas["FinishEvent"]!["properties"]!["reason"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("rate_limited", schemas["ErrorEvent"]!["properties"]!["code"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Contains("tool_rounds_exceeded", schemas["ErrorEvent"]!["properties"]!["code"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_request_schema_types_each_field_and_gives_the_ranges_the_server_applies()
    {
        var limits = new Dictionary<string, string> { ["Chat:MaxOutputTokens"] = "300", ["Chat:DefaultMaxTokens"] = "200" };
        var (document, info) = await ServedDocumentAsync(limits, client => client.GetFromJsonAsync<JsonObject>("/api/info", Timeout));

        var request = document["components"]!["schemas"]!["ChatRequest"]!;
        Assert.Equal(["messages"], request["required"]!.AsArray().Select(f => f!.GetValue<string>()));
        var maxTokens = request["properties"]!["maxTokens"]!;
        Assert.Equal("integer", maxTokens["type"]!.GetValue<string>());
        Assert.Equal(1, maxTokens["minimum"]!.GetValue<int>());
        Assert.Equal(300, maxTokens["maximum"]!.GetValue<int>());
        Assert.Equal(info!["maxOutputTokens"]!.GetValue<int>(), maxTokens["maximum"]!.GetValue<int>());
        var temperature = request["properties"]!["temperature"]!;
        Assert.Equal("number", temperature["type"]!.GetValue<string>());
        Assert.Equal(0, temperature["minimum"]!.GetValue<double>());
        Assert.Equal(info["maxTemperature"]!.GetValue<double>(), temperature["maximum"]!.GetValue<double>());
        Assert.Equal("array", request["properties"]!["messages"]!["type"]!.GetValue<string>());
        foreach (var field in new[] { "messages", "maxTokens", "temperature" })
        {
            Assert.False(string.IsNullOrWhiteSpace(request["properties"]![field]!["description"]?.GetValue<string>()), $"{field} has no description.");
        }

        var message = document["components"]!["schemas"]!["ChatRequestMessage"]!;
        Assert.Equal(["role", "content"], message["required"]!.AsArray().Select(f => f!.GetValue<string>()));
        Assert.Equal("string", message["properties"]!["role"]!["type"]!.GetValue<string>());
        Assert.Equal(["system", "user", "assistant"], message["properties"]!["role"]!["enum"]!.AsArray().Select(r => r!.GetValue<string>()));
        Assert.Equal("string", message["properties"]!["content"]!["type"]!.GetValue<string>());
        Assert.Equal(1, message["properties"]!["content"]!["minLength"]!.GetValue<int>());
    }

    // What an API reference sends: the request's own example, or one made from its fields' examples (else their
    // first allowed value), as Scalar makes it.
    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("the request's example")]
    [InlineData("made from its fields")]
    public async Task The_documented_example_request_is_answered_with_a_stream(string example)
    {
        var schemas = (await ServedDocumentAsync())["components"]!["schemas"]!;
        var request = schemas["ChatRequest"]!;
        var body = example == "made from its fields" ? Generate(request, schemas) : request["examples"]![0]!.DeepClone();

        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await fixture.Api.PostAsync("/api/chat/stream", content, Timeout);
        var events = await ChatStream.ReadAsync(response, Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(events, e => e.Name == "token");
        Assert.Equal("finish", events[^1].Name);
    }

    private static JsonNode Generate(JsonNode schema, JsonNode schemas)
    {
        if (schema["$ref"] is { } reference)
        {
            return Generate(schemas[reference.GetValue<string>().Split('/')[^1]]!, schemas);
        }

        if ((schema["examples"]?[0] ?? schema["enum"]?[0]) is { } value)
        {
            return value.DeepClone();
        }

        return schema["type"]?.GetValue<string>() switch
        {
            "object" => new JsonObject(schema["properties"]!.AsObject().Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Generate(p.Value!, schemas)))),
            "array" => new JsonArray(Generate(schema["items"]!, schemas)),
            var type => throw new InvalidOperationException($"The document gives no example for a field of type {type}."),
        };
    }

    private async Task<JsonNode> ServedDocumentAsync() => (await ServedDocumentAsync<object>()).Document;

    // The document of the API in Development (the only environment that serves it), without its servers: their
    // addresses are this test's random ports; and what else was asked of the same API.
    private async Task<(JsonNode Document, T? Also)> ServedDocumentAsync<T>(
        IReadOnlyDictionary<string, string>? settings = null, Func<HttpClient, Task<T?>>? also = null)
    {
        await using var development = new ApiFixture.ApiFactory(
            $"Endpoint={new Uri(fixture.EmulatorAddress, "v1")};Key={ApiFixture.Key};Model=gpt-4o-mini", extra: settings, environment: "Development");
        using var client = new HttpClient { BaseAddress = development.Start() };
        var document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json", Timeout))!.AsObject();
        document.Remove("servers");
        return (document, also is null ? default : await also(client));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GptAspire.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No GptAspire.sln above {AppContext.BaseDirectory}.");
    }
}
