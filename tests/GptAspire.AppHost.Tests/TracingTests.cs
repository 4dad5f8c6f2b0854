using System.Net.Http.Json;
using System.Security.Cryptography;
using GptAspire.AppHost.Tests.Telemetry;

namespace GptAspire.AppHost.Tests;

/// <summary>
/// One W3C trace follows a chat from the browser through the web server and the API to the OpenAI call,
/// and the telemetry carries what operators need but no message contents or keys.
/// </summary>
public class TracingTests(AppHostFixture fixture)
{
    private const int Server = 2;
    private const int Client = 3;

    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task One_trace_follows_a_chat_from_the_browser_to_OpenAI_and_back()
    {
        // What the page sends: a fresh traceparent per chat (src/lib/traceContext.ts).
        var traceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var browserSpan = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var marker = $"secret-question-{Guid.NewGuid():n}";
        using var web = fixture.Client("web");
        using var emulator = fixture.Client("openai");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream")
        {
            Content = JsonContent.Create(ChatStream.Body($"{marker} [emulator:delay=1]")),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{browserSpan}-01");

        var events = await ChatStream.ReadAsync(await web.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout), Timeout);

        Assert.Equal(traceId, events[0].Data.GetProperty("traceId").GetString());
        Assert.Equal("finish", events[^1].Name);
        await EmulatorRequests.WaitForTraceAsync(emulator, traceId, r => r.GetProperty("completed").GetBoolean(), TimeSpan.FromSeconds(5), Timeout);

        var spans = await WaitForSpansAsync(traceId, s => s.Service == "openai" && s.Kind == Server);
        ReceivedSpan One(Func<ReceivedSpan, bool> match, string what) =>
            spans.FirstOrDefault(match) ?? throw new Xunit.Sdk.XunitException($"No {what} span in trace {traceId}:\n{Describe(spans)}");

        var webServer = One(s => s.Service == "web" && s.Kind == Server && s.ParentSpanId == browserSpan, "web server");
        var apiServer = One(s => s.Service == "api" && s.Kind == Server, "api server");
        var webClient = One(s => s.Service == "web" && s.Kind == Client && s.SpanId == apiServer.ParentSpanId, "web client (the proxy's call to api)");
        var chat = One(s => s.Service == "api" && s.Name.StartsWith("chat", StringComparison.Ordinal), "gen_ai chat");
        var openaiCall = One(s => s.Service == "api" && s.Kind == Client && s.ParentSpanId == chat.SpanId, "api HTTP call to openai");
        var emulatorServer = One(s => s.Service == "openai" && s.Kind == Server, "openai server");

        Assert.True(IsDescendant(spans, webClient, webServer), Describe(spans));

        // The web server's spans are named by route, and its Express middleware adds none of its own.
        Assert.Equal("POST /api/chat/stream", webServer.Name);
        Assert.Equal("/api/chat/stream", webServer.Attributes["http.route"]);
        Assert.Equal("POST /api/chat/stream", webClient.Name);
        Assert.True(spans.All(s => s.Service != "web" || s.Kind is Server or Client), Describe(spans));
        Assert.Equal(webServer.SpanId, webClient.ParentSpanId);
        Assert.True(IsDescendant(spans, chat, apiServer), Describe(spans));
        Assert.Equal(openaiCall.SpanId, emulatorServer.ParentSpanId);

        // The gen_ai span carries the model and the token usage, not the conversation.
        Assert.Equal("gpt-4o-mini", chat.Attributes["gen_ai.request.model"]);
        Assert.True(int.Parse(chat.Attributes["gen_ai.usage.output_tokens"]) > 0, string.Join(", ", chat.Attributes));
        Assert.DoesNotContain(spans, s => s.Attributes.Values.Any(v => v.Contains(marker)));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_tool_call_is_an_execute_tool_span_between_the_two_model_calls_in_the_answers_trace()
    {
        var traceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        using var web = fixture.Client("web");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream")
        {
            Content = JsonContent.Create(ChatStream.Body("What is (12.5 + 7) * 3? [emulator:delay=1]")),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}-01");

        var events = await ChatStream.ReadAsync(await web.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Timeout), Timeout);
        Assert.Equal("finish", events[^1].Name);
        var call = Assert.Single(events, e => e.Name == "tool_call");

        var spans = await WaitForSpansAsync(traceId, s => s.Service == "api" && s.Name.StartsWith("execute_tool", StringComparison.Ordinal));
        var tool = spans.SingleOrDefault(s => s.Service == "api" && s.Name == "execute_tool calculate")
            ?? throw new Xunit.Sdk.XunitException($"No execute_tool span in trace {traceId}:\n{Describe(spans)}");
        var modelCalls = spans.Where(s => s.Service == "api" && s.Name.StartsWith("chat ", StringComparison.Ordinal)).OrderBy(s => s.StartNanos).ToList();
        Assert.True(modelCalls.Count == 2, Describe(spans));

        // The call, then the tool, then the call that reads its result, all in the request's trace.
        Assert.True(modelCalls[0].EndNanos <= tool.StartNanos && tool.EndNanos <= modelCalls[1].StartNanos, Describe(spans));
        Assert.Equal("execute_tool", tool.Attributes["gen_ai.operation.name"]);
        Assert.Equal("calculate", tool.Attributes["gen_ai.tool.name"]);
        Assert.Equal(call.Data.GetProperty("callId").GetString(), tool.Attributes["gen_ai.tool.call.id"]);
        // Arguments and results are message content: not recorded unless Chat:RecordMessageContent is on.
        Assert.DoesNotContain("gen_ai.tool.call.arguments", tool.Attributes.Keys);
        Assert.DoesNotContain("gen_ai.tool.call.result", tool.Attributes.Keys);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Logs_are_correlated_with_the_trace_and_carry_no_contents_or_keys()
    {
        var marker = $"private-words-{Guid.NewGuid():n}";
        using var web = fixture.Client("web");
        var (_, events) = await ChatStream.PostAsync(web, ChatStream.Body($"{marker} [emulator:delay=1]"), Timeout);
        var traceId = events[0].Data.GetProperty("traceId").GetString()!;
        var answer = events.Text();

        bool Correlated(string service, string text) =>
            fixture.Telemetry.Logs.Any(l => l.Service == service && l.TraceId == traceId && l.Text.Contains(text));
        await Eventually.UntilAsync(() => Correlated("api", "finished") && Correlated("web", ""),
            $"the api's and the web's logs in trace {traceId}", cancellationToken: Timeout);

        var logs = fixture.Telemetry.Logs.ToArray();
        var seen = $"trace {traceId}; logs:\n{string.Join("\n", logs.Where(l => l.Service is "api" or "web").Select(l => $"{l.Service} {l.TraceId} {l.Text}"))}";
        Assert.True(logs.Any(l => l.Service == "api" && l.TraceId == traceId && l.Text.Contains("finished")), seen);
        Assert.True(logs.Any(l => l.Service == "web" && l.TraceId == traceId), seen);
        var key = await fixture.EmulatorKeyAsync();
        Assert.DoesNotContain(logs, l => l.Text.Contains(marker) || l.Text.Contains(key) || l.Text.Contains(answer[..40]));
    }

    private async Task<ReceivedSpan[]> WaitForSpansAsync(string traceId, Func<ReceivedSpan, bool> last)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        ReceivedSpan[] spans;
        do
        {
            // Spans are exported in batches every 200 ms; the web server's span ends last.
            spans = fixture.Telemetry.Spans.Where(s => s.TraceId == traceId).ToArray();
            if (spans.Any(last) && spans.Any(s => s.Service == "web" && s.Kind == Server))
            {
                await Task.Delay(500, Timeout);
                return fixture.Telemetry.Spans.Where(s => s.TraceId == traceId).ToArray();
            }

            await Task.Delay(200, Timeout);
        }
        while (DateTime.UtcNow < deadline);

        return spans;
    }

    private static bool IsDescendant(ReceivedSpan[] spans, ReceivedSpan span, ReceivedSpan ancestor)
    {
        for (var current = span; current is not null; current = spans.FirstOrDefault(s => s.SpanId == current.ParentSpanId))
        {
            if (current.ParentSpanId == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(IEnumerable<ReceivedSpan> spans) =>
        string.Join("\n", spans.Select(s => $"{s.Service} kind={s.Kind} {s.Name} span={s.SpanId} parent={s.ParentSpanId}"));
}
