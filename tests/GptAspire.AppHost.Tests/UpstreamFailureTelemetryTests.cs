using GptAspire.AppHost.Tests.Telemetry;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// What an operator sees on the dashboard when OpenAI fails: the chat's POST as a failed server span with the error
/// code, the error code counted in <c>gptaspire.chat.streams</c> as <c>error.type</c>, and one warning in the trace with the upstream status
/// and request id, and nothing of the upstream body. Read from the OTLP the resources export.
/// </summary>
public class UpstreamFailureTelemetryTests(AppHostFixture fixture)
{
    private const int Server = 2;
    private const int StatusError = 2;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("[emulator:rate-limit=3]", "rate_limited", 429, "Rate limit reached for")]
    [InlineData("[emulator:server-error]", "upstream_error", 500, "The server had an error")]
    [InlineData("[emulator:bad-chunk]", "upstream_error", null, "unterminated")]
    [InlineData("[emulator:drop]", "upstream_unavailable", null, null)]
    public async Task An_upstream_failure_is_an_error_span_a_counted_outcome_and_a_warning_on_the_dashboard(
        string directive, string code, int? status, string? upstreamBody)
    {
        using var web = fixture.Client("web");
        var (_, events) = await ChatStream.PostAsync(web, ChatStream.Body($"Fail {directive} [emulator:delay=1]"), Timeout);
        Assert.Equal(code, events[^1].Data.GetProperty("code").GetString());
        var traceId = events[0].Data.GetProperty("traceId").GetString()!;
        var requestId = events[0].Data.GetProperty("requestId").GetString()!;

        var server = await Eventually.FindAsync(() => fixture.Telemetry.Spans.FirstOrDefault(s =>
            s.Service == "api" && s.Kind == Server && s.TraceId == traceId && s.Attributes.GetValueOrDefault("http.route") == "/api/chat/stream"),
            $"the api's server span of trace {traceId}", cancellationToken: Timeout);
        Assert.Equal(StatusError, server.StatusCode);
        Assert.Equal(code, server.StatusMessage);
        Assert.Equal(code, server.Attributes["error.type"]);

        await Eventually.FindAsync(() => fixture.Telemetry.Points.FirstOrDefault(p =>
            p.Service == "api" && p.Metric == "gptaspire.chat.streams" && p.Attributes.GetValueOrDefault("error.type") == code && p.Value >= 1),
            $"gptaspire.chat.streams with error.type {code}", cancellationToken: Timeout);

        var warning = await Eventually.FindAsync(() => fixture.Telemetry.Logs.FirstOrDefault(l =>
            l.Service == "api" && l.TraceId == traceId && l.Text.Contains("failed upstream") && l.Text.Contains(requestId)),
            $"the api's warning in trace {traceId}", cancellationToken: Timeout);
        Assert.Contains($"ErrorCode={code}", warning.Text);
        if (status is { } upstreamStatus)
        {
            Assert.Contains($"UpstreamStatus={upstreamStatus}", warning.Text);
            Assert.Matches("UpstreamRequestId=req_[0-9a-f]{32}", warning.Text);
        }

        if (upstreamBody is not null)
        {
            // The page's server span ends last: once it is here, so is every api span and log of the trace.
            await Eventually.FindAsync(() => fixture.Telemetry.Spans.FirstOrDefault(s => s.Service == "web" && s.Kind == Server && s.TraceId == traceId),
                $"the web's server span of trace {traceId}", cancellationToken: Timeout);
            Assert.DoesNotContain(fixture.Telemetry.Spans, s => s.Service == "api" && s.TraceId == traceId
                && (s.StatusMessage.Contains(upstreamBody) || s.Attributes.Values.Any(v => v.Contains(upstreamBody))));
            Assert.DoesNotContain(fixture.Telemetry.Logs, l => l.Service == "api" && l.Text.Contains(upstreamBody));
        }
    }
}
