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

    // The document of the API in Development (the only environment that serves it), without its servers: their
    // addresses are this test's random ports.
    private async Task<JsonNode> ServedDocumentAsync()
    {
        await using var development = new ApiFixture.ApiFactory(
            $"Endpoint={new Uri(fixture.EmulatorAddress, "v1")};Key={ApiFixture.Key};Model=gpt-4o-mini", environment: "Development");
        using var client = new HttpClient { BaseAddress = development.Start() };
        var document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json", Timeout))!.AsObject();
        document.Remove("servers");
        return document;
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
