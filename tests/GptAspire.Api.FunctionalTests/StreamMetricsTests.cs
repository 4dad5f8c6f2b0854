namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// How an operator sees answers end in <c>gptaspire.chat.streams</c>, by the GenAI conventions: the finish reason as
/// <c>gen_ai.response.finish_reasons</c> for an answer that finished, and <c>error.type</c> only for one that failed;
/// and the user's wait for the first token in <c>gptaspire.chat.time_to_first_token</c>.
/// </summary>
public sealed class StreamMetricsTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_finished_answer_is_counted_by_its_finish_reason_without_an_error_type()
    {
        await using var api = new ObservedApi(fixture);

        var (_, events) = await ChatStream.PostAsync(api.Client, ChatStream.Body("Hello [emulator:delay=1]"), Timeout);

        Assert.Equal("stop", events[^1].Data.GetProperty("reason").GetString());
        var ended = await Eventually.FindAsync(
            () => api.Measurements.FirstOrDefault(m => m.Instrument == "gptaspire.chat.streams"), "gptaspire.chat.streams", cancellationToken: Timeout);
        Assert.Equal("""["stop"]""", ended.Tags["gen_ai.response.finish_reasons"]);
        Assert.Equal("gpt-4o-mini", ended.Tags["gen_ai.request.model"]);
        Assert.DoesNotContain("error.type", ended.Tags.Keys);
        var firstToken = Assert.Single(api.Measurements, m => m.Instrument == "gptaspire.chat.time_to_first_token");
        Assert.Equal("gpt-4o-mini", firstToken.Tags["gen_ai.request.model"]);
        Assert.InRange(firstToken.Value, 0, 60);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_stopped_answer_finished_stopped_and_is_no_error()
    {
        await using var api = new ObservedApi(fixture);
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream")
        {
            Content = System.Net.Http.Json.JsonContent.Create(ChatStream.Body("Stop me [emulator:long] [emulator:delay=50]")),
        };
        var started = await ChatStream.ReadUntilCutAsync(api.Client, post, events => events is [.., { Name: "token" }], Timeout);
        var requestId = started[0].Data.GetProperty("requestId").GetString()!;

        using (await ChatStream.StopAsync(api.Client, requestId, Timeout))
        {
        }

        var ended = await Eventually.FindAsync(
            () => api.Measurements.FirstOrDefault(m => m.Instrument == "gptaspire.chat.streams"), "gptaspire.chat.streams", cancellationToken: Timeout);
        Assert.Equal("""["stopped"]""", ended.Tags["gen_ai.response.finish_reasons"]);
        Assert.DoesNotContain("error.type", ended.Tags.Keys);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_rate_limited_answer_is_counted_by_its_error_code_without_a_finish_reason()
    {
        await using var api = new ObservedApi(fixture);

        var (_, events) = await ChatStream.PostAsync(api.Client, ChatStream.Body("Hello [emulator:rate-limit=3]"), Timeout);

        Assert.Equal("rate_limited", events[^1].Data.GetProperty("code").GetString());
        var ended = await Eventually.FindAsync(
            () => api.Measurements.FirstOrDefault(m => m.Instrument == "gptaspire.chat.streams"), "gptaspire.chat.streams", cancellationToken: Timeout);
        Assert.Equal("rate_limited", ended.Tags["error.type"]);
        Assert.DoesNotContain("gen_ai.response.finish_reasons", ended.Tags.Keys);
        // No token came: the user's wait for one is not a time to first token.
        Assert.DoesNotContain(api.Measurements, m => m.Instrument == "gptaspire.chat.time_to_first_token");
    }
}
