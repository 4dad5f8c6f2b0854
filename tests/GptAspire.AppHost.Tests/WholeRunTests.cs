using GptAspire.AppHost.Tests.Telemetry;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// Checks over what the whole run produced. A collection that is not parallel runs after all the parallel ones,
/// so these see every other test's telemetry, and nothing else runs beside them.
/// </summary>
[Collection(nameof(WholeRunTests))]
[CollectionDefinition(nameof(WholeRunTests), DisableParallelization = true)]
public sealed class WholeRunTests(AppHostFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_api_and_the_emulator_record_each_stream_in_their_metrics()
    {
        // Counters and histograms the API and the emulator export (cumulative, every second); nothing else runs now,
        // so what they count after this test's three answers is this test's doing.
        (string Service, string Metric)[] counted =
        [
            ("api", "gptaspire.chat.streams"), ("api", "gptaspire.chat.time_to_first_token"),
            ("api", "gen_ai.client.token.usage"), ("api", "gen_ai.client.operation.duration"),
            ("api", "gen_ai.client.operation.time_to_first_chunk"),
            ("openai", "gen_ai.server.request.duration"), ("openai", "gen_ai.server.time_to_first_token"),
            ("openai", "gen_ai.server.time_per_output_token"),
        ];
        using var api = fixture.Client("api");
        await ChatStream.PostAsync(api, ChatStream.Body("Warm up [emulator:delay=1]"), Timeout);
        var before = await Eventually.FindAsync(
            () => counted.All(m => Total(m.Service, m.Metric) > 0) ? counted.ToDictionary(m => m, m => Total(m.Service, m.Metric)) : null,
            "every metric exported once", cancellationToken: Timeout);
        await WaitForNextExportAsync();
        before = counted.ToDictionary(m => m, m => Total(m.Service, m.Metric));

        for (var i = 0; i < 3; i++)
        {
            var (_, events) = await ChatStream.PostAsync(api, ChatStream.Body($"Metrics please {i} [emulator:delay=1]"), Timeout);
            Assert.Equal("finish", events[^1].Name);
        }

        await Eventually.UntilAsync(() => counted.All(m => Total(m.Service, m.Metric) >= before[m] + 3),
            $"every metric counting the three answers; before {Describe(before)}", cancellationToken: Timeout);
        Assert.Contains(("api", "gptaspire.chat.active_streams"), fixture.Telemetry.Metrics.Keys);
        // How the answers ended, by the GenAI conventions' attribute: an array of finish reasons.
        Assert.Contains(fixture.Telemetry.Points, p => p.Service == "api" && p.Metric == "gptaspire.chat.streams"
            && p.Attributes.Any(a => a.Key == "gen_ai.response.finish_reasons" && a.Value == "[stop]"));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task No_console_log_or_exported_telemetry_of_the_whole_run_holds_any_piece_of_the_key()
    {
        var key = await fixture.EmulatorKeyAsync();

        // Flushed up to now: a request made now has reached the receiver from every resource it passed through,
        // and each exporter sends in order, so everything logged before it has arrived too.
        using var web = fixture.Client("web");
        var (_, events) = await ChatStream.PostAsync(web, ChatStream.Body("The last one [emulator:delay=1]"), Timeout);
        var traceId = events[0].Data.GetProperty("traceId").GetString()!;
        var requestId = events[0].Data.GetProperty("requestId").GetString()!;
        await Eventually.UntilAsync(
            () => new[] { "web", "api", "openai" }.All(s => fixture.Telemetry.Spans.Any(span => span.Service == s && span.TraceId == traceId))
                && fixture.Telemetry.Logs.Any(l => l.Service == "api" && l.Text.Contains(requestId)),
            $"the spans of trace {traceId} from web, api and openai, and the api's log of {requestId}", cancellationToken: Timeout);
        await WaitForNextExportAsync();

        var exported = AppHostFixture.Exported(fixture.Telemetry.Raw).ToList();
        var leaks = Secrets.Find(key, [("console logs", fixture.ResourceLogs()), .. exported]);
        TestContext.Current.SendDiagnosticMessage(
            $"Whole-run key search: {fixture.ResourceLogs().Length} chars of console logs, {exported.Count} OTLP exports: {leaks.Count} leaks");
        Assert.True(leaks.Count == 0, $"The OpenAI key leaked during the test run:\n{string.Join("\n", leaks)}");
    }

    // The latest cumulative value of each point (one per attribute set) of a metric, added up.
    private double Total(string service, string metric) => fixture.Telemetry.Points
        .Where(p => p.Service == service && p.Metric == metric)
        .GroupBy(p => string.Join(",", p.Attributes.OrderBy(a => a.Key).Select(a => $"{a.Key}={a.Value}")))
        .Sum(g => g.Last().Value);

    // The metrics are exported every second: one more export after this moment.
    private async Task WaitForNextExportAsync()
    {
        var count = fixture.Telemetry.Raw.Count;
        await Eventually.UntilAsync(() => fixture.Telemetry.Raw.Count > count + 1, "two more OTLP exports", cancellationToken: Timeout);
    }

    private static string Describe(Dictionary<(string Service, string Metric), double> totals) => string.Join(", ", totals.Select(t => $"{t.Key.Service} {t.Key.Metric} {t.Value}"));
}
