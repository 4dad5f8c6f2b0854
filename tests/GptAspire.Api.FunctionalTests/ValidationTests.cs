using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace GptAspire.Api.FunctionalTests;

/// <summary>Bad input gets a problem+json naming each bad field, before any stream starts; never a 500.</summary>
public class ValidationTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private async Task<(HttpStatusCode Status, string? MediaType, JsonElement Problem)> Post(string body, string contentType = "application/json")
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await fixture.Api.PostAsync("/api/chat/stream", content, Timeout);
        var text = await response.Content.ReadAsStringAsync(Timeout);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string[] Fields(JsonElement problem) =>
        problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray();

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("{", "body")]
    [InlineData("not json", "body")]
    [InlineData("""{"messages":"hello"}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"maxTokens":"ten"}""", "maxTokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"maxTokens":"5"}""", "maxTokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":"0.5"}""", "temperature")]
    [InlineData("""{}""", "messages")]
    [InlineData("null", "body")]
    [InlineData("[]", "body")]
    [InlineData("\"x\"", "body")]
    [InlineData("""{"messages":[null]}""", "messages[0]")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"maxTokens":1e400}""", "maxTokens")]
    [InlineData("""{"messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":""}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":3}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"maxTokens":0}""", "maxTokens")]
    public async Task Bad_input_is_a_400_problem_naming_the_field(string body, string field)
    {
        var (status, mediaType, problem) = await Post(body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Equal([field], Fields(problem));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Every_bad_field_is_named_at_once()
    {
        var (_, _, problem) = await Post("""{"messages":[{"role":"user","content":"hi"},{"role":"x","content":" "}],"maxTokens":99999}""");
        Assert.Equal(["maxTokens", "messages[1].content", "messages[1].role"], Fields(problem));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task JSON_in_another_charset_is_415_not_a_500()
    {
        var (status, mediaType, _) = await Post("""{"messages":[{"role":"user","content":"hi"}]}""", "application/json; charset=foo");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("application/problem+json", mediaType);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=\"UTF-8\"")]
    [InlineData("APPLICATION/JSON")]
    public async Task UTF_8_JSON_is_accepted_however_its_content_type_is_written(string contentType)
    {
        using var content = new StringContent("""{"messages":[{"role":"user","content":"hi"}],"maxTokens":2}""", Encoding.UTF8);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await fixture.Api.PostAsync("/api/chat/stream", content, Timeout);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains("Server"), "the API names its server");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_wrong_content_type_is_415()
    {
        var (status, mediaType, _) = await Post("""{"messages":[{"role":"user","content":"hi"}]}""", "text/plain");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        Assert.Equal("application/problem+json", mediaType);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_oversized_body_is_refused_on_body()
    {
        var huge = JsonSerializer.Serialize(ChatStream.Body(new string('a', 70_000)));
        var (status, _, problem) = await Post(huge);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(["body"], Fields(problem));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_prompt_larger_than_the_context_window_is_refused_before_streaming()
    {
        // This API is configured with a 1,000-token context window.
        var words = string.Join(' ', Enumerable.Range(0, 1_500).Select(i => $"w{i}"));
        using var response = await fixture.SmallContextApi.PostAsJsonAsync("/api/chat/stream", ChatStream.Body(words), Timeout);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["messages"], Fields(problem));
        Assert.Contains("context window of 1000 tokens", problem.GetProperty("errors").GetProperty("messages")[0].GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task MaxTokens_larger_than_what_the_prompt_leaves_is_refused()
    {
        using var response = await fixture.SmallContextApi.PostAsJsonAsync("/api/chat/stream", ChatStream.Body("Hello", maxTokens: 995), Timeout);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(["maxTokens"], Fields(problem));
    }
}
