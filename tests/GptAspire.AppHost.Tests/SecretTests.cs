using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// The OpenAI key (here the emulator's generated one) reaches neither the browser nor the operators: no response
/// body or header, no file of the page the web server serves, no console log, and nothing exported over OTLP
/// (spans, logs, metrics) holds it or any 8-character piece of it. <see cref="AppHostFixture"/> repeats the search of
/// logs and telemetry after the last test of the assembly, so that every test's traffic is covered.
/// </summary>
public partial class SecretTests(AppHostFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task No_response_page_file_log_or_exported_telemetry_holds_any_piece_of_the_key()
    {
        var key = await fixture.EmulatorKeyAsync();
        Assert.True(key.Length >= 16, "The emulator's key is too short to search for in pieces.");
        var wire = new StringBuilder();
        using var web = fixture.Client("web");
        using var api = fixture.Client("api");

        // A full run through the page's server: answers, every failure, a resume, a stop, and the other endpoints.
        string? lastRequestId = null;
        foreach (var question in new[]
        {
            "Hello there [emulator:delay=1]", "Fail [emulator:rate-limit=2]", "Fail [emulator:server-error]", "Fail [emulator:drop] [emulator:delay=1]",
            "Fail [emulator:bad-chunk] [emulator:delay=1]", "Fail [emulator:content-filter-prompt]", "Filter [emulator:content-filter] [emulator:delay=1]",
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(ChatStream.Body(question)) };
            using var response = await web.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout);
            var body = await Record(wire, response);
            lastRequestId = RequestId().Match(body).Groups[1].Value;
        }

        foreach (var path in new[] { $"/api/chat/stream/{lastRequestId}", $"/api/chat/stream/{lastRequestId}?lastEventId=2", "/api/chat/stream/0123456789abcdef0123456789abcdef", "/api/info", "/health" })
        {
            using var response = await web.GetAsync(path, Timeout);
            await Record(wire, response);
        }

        using (var stop = await web.PostAsync($"/api/chat/stream/{lastRequestId}/stop", null, Timeout))
        {
            await Record(wire, stop);
        }

        using (var bad = await web.PostAsync("/api/chat/stream", new StringContent("{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", Encoding.UTF8, "application/json"), Timeout))
        {
            await Record(wire, bad);
        }

        foreach (var path in new[] { "/openapi/v1.json", "/api/info", "/health", "/alive" })
        {
            using var response = await api.GetAsync(path, Timeout);
            await Record(wire, response);
        }

        var page = await CrawlAsync(web);
        Assert.True(page.Files > 5 && page.Text.Contains("<div id=\"app\">"), $"The crawl of the page found only {page.Files} files.");

        // Wait for the last spans and logs to be exported (every 200 ms): the stop's, the last request's.
        await Eventually.UntilAsync(
            () => fixture.Telemetry.Logs.Any(l => l.Service == "api" && l.Text.Contains("failed upstream"))
                && AppHostFixture.Exported(fixture.Telemetry.Raw).Any(e => e.Text.Contains(lastRequestId!))
                && fixture.Telemetry.Spans.Any(s => s.Service == "api" && s.Name.EndsWith("/stop", StringComparison.Ordinal)),
            $"the api's upstream failure log, its logs of {lastRequestId} and its span of the stop, exported", cancellationToken: Timeout);
        var exported = fixture.Telemetry.Raw.ToArray();

        // The search itself sees what it must: a piece in text, and the api's log attributes inside the raw exports.
        Assert.NotEmpty(Secrets.Find(key, [("control", $"x{key[3..11]}y")]));

        var found = Secrets.Find(key,
        [
            ("responses", wire.ToString()),
            ("the page as served", page.Text),
            ("console logs", fixture.ResourceLogs()),
            .. AppHostFixture.Exported(exported),
        ]);
        Assert.True(found.Count == 0, string.Join("\n", found));
        TestContext.Current.SendDiagnosticMessage(
            $"Key search: {wire.Length} chars of responses, {page.Files} page files, {fixture.ResourceLogs().Length} chars of console logs, " +
            $"{exported.Length} OTLP exports ({exported.Sum(e => e.Length)} bytes): no piece of the key");
    }

    private static async Task<string> Record(StringBuilder wire, HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(Timeout);
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            wire.Append(header.Key).Append(": ").AppendJoin(",", header.Value).Append('\n');
        }

        wire.Append(body).Append('\n');
        return body;
    }

    // Every same-origin file the page loads, following src/href and module imports (Vite serves modules one by one).
    private static async Task<(int Files, string Text)> CrawlAsync(HttpClient web)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { "/" };
        var queue = new Queue<string>(["/"]);
        var text = new StringBuilder();
        while (queue.Count > 0 && seen.Count < 1000)
        {
            var path = queue.Dequeue();
            using var response = await web.GetAsync(path, Timeout);
            var body = await response.Content.ReadAsStringAsync(Timeout);
            text.Append(body).Append('\n');
            foreach (Match link in Links().Matches(body))
            {
                var target = new Uri(new Uri(web.BaseAddress!, path), link.Groups["url"].Value);
                if (target.Authority == web.BaseAddress!.Authority && seen.Add(target.PathAndQuery))
                {
                    queue.Enqueue(target.PathAndQuery);
                }
            }
        }

        return (seen.Count, text.ToString());
    }

    [GeneratedRegex("\"requestId\":\"([0-9a-f]+)\"")]
    private static partial Regex RequestId();

    [GeneratedRegex("""(?:(?:src|href)\s*=\s*|(?:from|import)\s*\(?\s*)["'](?<url>(?:/|\./|\.\./)[^"'\s]*)["']""")]
    private static partial Regex Links();
}
