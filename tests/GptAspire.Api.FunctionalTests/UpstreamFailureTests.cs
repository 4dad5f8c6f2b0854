extern alias emulator;

using System.Diagnostics;
using Microsoft.Extensions.Logging;
using EmulatorErrors = emulator::GptAspire.OpenAIEmulator.Services.EmulatorErrors;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// Each way the OpenAI call fails reaches the user as one <c>error</c> event and reaches operators as an error on
/// the request's server span (<c>error.type</c>), an <c>error.type</c> of <c>gptaspire.chat.streams</c> and one warning log
/// with the upstream status and request id, and never the upstream body or any part of the key.
/// </summary>
public sealed class UpstreamFailureTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, int?, string> Failures => new()
    {
        // directive, error code, upstream status, a phrase of the upstream body that must go no further than the API
        { "[emulator:rate-limit=3]", "rate_limited", 429, "Rate limit reached for" },
        { "[emulator:server-error]", "upstream_error", 500, "The server had an error while processing" },
        { "[emulator:forbidden]", "upstream_error", 403, "Country, region, or territory not supported" },
        { "[emulator:drop]", "upstream_unavailable", null, "" },
        { "[emulator:bad-chunk]", "upstream_error", null, "unterminated" },
    };

    [Theory(Timeout = Bounds.TestMs)]
    [MemberData(nameof(Failures))]
    public async Task An_upstream_failure_is_one_error_event_and_visible_to_operators(string directive, string code, int? status, string upstreamBody)
    {
        await using var api = new ObservedApi(fixture);

        var (_, events) = await ChatStream.PostAsync(api.Client, ChatStream.Body($"Fail please {directive} [emulator:delay=1]"), Timeout);

        var error = Assert.Single(events, e => e.Name is "error" or "finish");
        Assert.Same(events[^1], error);
        Assert.Equal("error", error.Name);
        Assert.Equal(code, error.Data.GetProperty("code").GetString());
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));
        await AssertOperatorsSeeAsync(api, events, code, status);
        if (upstreamBody.Length > 0)
        {
            AssertNowhere(api, events, upstreamBody);
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_upstream_403_tells_the_user_the_administrator_must_check_the_key()
    {
        var (_, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("Hello [emulator:forbidden]"), Timeout);

        Assert.Equal(["start", "error"], events.Select(e => e.Name));
        Assert.Equal("upstream_error", events[^1].Data.GetProperty("code").GetString());
        Assert.Equal(
            "The AI service refused the server's credentials. The administrator needs to check the OpenAI key.",
            events[^1].Data.GetProperty("message").GetString());
        Assert.False(events[^1].Data.TryGetProperty("retryAfterSeconds", out _), "a refused key is not worth retrying soon");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_wrong_key_is_upstream_error_and_no_part_of_the_key_reaches_the_user_logs_or_spans()
    {
        var wrongKey = $"sk-wrong-{Guid.NewGuid():n}";
        await using var api = new ObservedApi(fixture, key: wrongKey);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = System.Net.Http.Json.JsonContent.Create(ChatStream.Body("Hello [emulator:delay=1]")) };
        using var response = await api.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout);
        var body = await response.Content.ReadAsStringAsync(Timeout);
        using var info = await api.Client.GetAsync("/api/info", Timeout);
        var events = Parse(body);

        Assert.Equal("error", events[^1].Name);
        Assert.Equal("upstream_error", events[^1].Data.GetProperty("code").GetString());
        await AssertOperatorsSeeAsync(api, events, "upstream_error", 401);

        // The emulator, like OpenAI, answers a wrong key with a 401 whose message shows the key masked.
        var wire = string.Join("\n",
            body,
            await info.Content.ReadAsStringAsync(Timeout),
            string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(",", h.Value)}")));
        var secrets = Secrets.Pieces(wrongKey).Append(EmulatorErrors.Mask(wrongKey)).Append("Incorrect API key provided").ToArray();
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, wire);
            AssertNowhere(api, events, secret);
        }
    }

    private static List<ReceivedEvent> Parse(string sse) =>
        [.. System.Net.ServerSentEvents.SseParser.Create(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(sse))).Enumerate()
            .Select(item => ReceivedEvent.Of(item, TimeSpan.Zero))];

    private static async Task AssertOperatorsSeeAsync(ObservedApi api, List<ReceivedEvent> events, string code, int? status)
    {
        var requestId = events[0].Data.GetProperty("requestId").GetString()!;
        var traceId = events[0].Data.GetProperty("traceId").GetString()!;

        // The POST that started the stream is the failed request in traces.
        var server = await api.ServerSpanAsync(traceId);
        Assert.Equal(ActivityStatusCode.Error, server.Status);
        Assert.Equal(code, server.GetTagItem("error.type"));
        Assert.Equal(code, server.StatusDescription);

        await Eventually.FindAsync(
            () => api.Measurements.FirstOrDefault(m => m.Instrument == "gptaspire.chat.streams" && m.Tags.GetValueOrDefault("error.type") == code),
            $"gptaspire.chat.streams with error.type {code}; got {string.Join(", ", api.Measurements.Select(m => $"{m.Instrument} {string.Join(",", m.Tags)}"))}", cancellationToken: Timeout);

        var warning = Assert.Single(api.Logs.Entries, l => l.Level == LogLevel.Warning && l.Message.Contains(requestId));
        Assert.Contains(code, warning.Message);
        Assert.Null(warning.Exception);
        if (status is { } upstreamStatus)
        {
            Assert.Contains($"status {upstreamStatus}", warning.Message);
            Assert.Matches("upstream request req_[0-9a-f]{32}", warning.Message);
        }
    }

    private static void AssertNowhere(ObservedApi api, List<ReceivedEvent> events, string text)
    {
        Assert.DoesNotContain(events, e => e.RawData.Contains(text, StringComparison.Ordinal));
        var traceId = events[0].Data.GetProperty("traceId").GetString()!;
        foreach (var span in api.Spans.Where(s => s.TraceId.ToHexString() == traceId))
        {
            var seen = ObservedApi.Describe(span);
            Assert.False(seen.Contains(text, StringComparison.Ordinal), $"'{text}' is in a span:\n{seen}");
        }

        foreach (var entry in api.Logs.Entries)
        {
            var seen = ObservedApi.Describe(entry);
            Assert.False(seen.Contains(text, StringComparison.Ordinal), $"'{text}' is in a log:\n{seen}");
        }
    }
}
