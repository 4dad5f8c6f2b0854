using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using GptAspire.Api.Services.Tools;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace GptAspire.Api.FunctionalTests;

/// <summary>
/// The model calls tools through the API: each call is a <c>tool_call</c> event, each outcome a <c>tool_result</c>,
/// then the answer's text; bad input of every kind is an error result the answer goes on from, never a broken stream.
/// </summary>
public class ToolCallTests(ApiFixture fixture)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static object Body(string question) => ChatStream.Body(question, maxTokens: 400);

    private async Task<List<ReceivedEvent>> AskAsync(string question, HttpClient? api = null)
    {
        var (response, events) = await ChatStream.PostAsync(api ?? fixture.Api, Body(question), Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("start", events[0].Name);
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));
        Assert.Single(events, e => e.Name is "finish" or "error");
        return events;
    }

    private static string? Text(JsonElement data, string property) =>
        data.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // One call, its result after it, then the answer's text, then usage and finish stop.
    private static (ReceivedEvent Call, ReceivedEvent Result) AssertOneCallThenAnswer(List<ReceivedEvent> events, string tool)
    {
        var call = Assert.Single(events, e => e.Name == "tool_call");
        var result = Assert.Single(events, e => e.Name == "tool_result");
        Assert.Equal(tool, Text(call.Data, "name"));
        Assert.Equal(Text(call.Data, "callId"), Text(result.Data, "callId"));
        Assert.Equal(tool, Text(result.Data, "name"));
        Assert.True(result.Data.GetProperty("durationMs").GetInt64() >= 0);
        Assert.True(events.IndexOf(call) < events.IndexOf(result));
        Assert.True(events.FindIndex(e => e.Name == "token") > events.IndexOf(result), "the answer's text comes after the result");
        Assert.Equal(["usage", "finish"], events[^2..].Select(e => e.Name));
        Assert.Equal("stop", Text(events[^1].Data, "reason"));
        return (call, result);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_question_about_the_time_calls_the_time_tool_and_answers_from_its_result()
    {
        var events = await AskAsync("What time is it in Tokyo?");

        var (call, result) = AssertOneCallThenAnswer(events, "get_current_time");
        Assert.Equal("Asia/Tokyo", Text(call.Data.GetProperty("arguments"), "timeZone"));
        var localTime = Text(result.Data.GetProperty("result"), "localTime")!;
        Assert.EndsWith("+09:00", localTime);
        Assert.InRange(DateTimeOffset.Parse(localTime, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.False(result.Data.TryGetProperty("error", out _));
        Assert.Contains(localTime, events.Text());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Arithmetic_is_calculated_exactly_and_the_answer_quotes_it()
    {
        var events = await AskAsync("What is (12.5 + 7) * 3?");

        var (call, result) = AssertOneCallThenAnswer(events, "calculate");
        Assert.Equal("(12.5 + 7) * 3", Text(call.Data.GetProperty("arguments"), "expression"));
        Assert.Equal(58.5m, result.Data.GetProperty("result").GetProperty("value").GetDecimal());
        Assert.Contains("58.5", events.Text());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Two_tools_in_one_question_are_parallel_calls_and_usage_sums_both_calls_to_the_model()
    {
        var events = await AskAsync("What time is it in London, and what is 2^10?");

        var calls = events.Where(e => e.Name == "tool_call").ToList();
        var results = events.Where(e => e.Name == "tool_result").ToList();
        Assert.Equal(["get_current_time", "calculate"], calls.Select(c => Text(c.Data, "name")));
        Assert.Equal(2, calls.Select(c => Text(c.Data, "callId")).Distinct().Count());
        Assert.True(events.IndexOf(calls[^1]) < events.IndexOf(results[0]), "both calls come before the results of their round");
        Assert.Equal(calls.Select(c => Text(c.Data, "callId")).Order(), results.Select(r => Text(r.Data, "callId")).Order());
        Assert.Contains("1024", events.Text());

        // Two calls to the model: the second reads the whole first one again, so the answer's prompt tokens are more
        // than twice what the first call read.
        var start = events[0].Data.GetProperty("promptTokens").GetInt32();
        Assert.True(events[^2].Data.GetProperty("promptTokens").GetInt32() > 2 * start);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData("[emulator:tool=calculate {\"expression\": ]", "calculate", "The arguments were not a JSON object.")]
    [InlineData("[emulator:tool=calculate [1, 2]]", "calculate", "The arguments were not a JSON object.")]
    [InlineData("[emulator:tool=rm_rf {\"path\": \"/\"}]", "rm_rf", "There is no tool named 'rm_rf'.")]
    [InlineData("[emulator:tool=calculate {\"expr\": \"1+1\"}]", "calculate", "The arguments do not fit the tool's parameters")]
    [InlineData("[emulator:tool=calculate {\"expression\": \"1/0\"}]", "calculate", "The expression divides by zero.")]
    [InlineData("[emulator:tool=get_current_time {\"timeZone\": \"Mars/Olympus_Mons\"}]", "get_current_time", "'Mars/Olympus_Mons' is not a time zone name of the IANA database")]
    public async Task Bad_tool_input_is_an_error_result_and_the_answer_goes_on(string directive, string tool, string error)
    {
        var events = await AskAsync($"Use the tool {directive}");

        var (call, result) = AssertOneCallThenAnswer(events, tool);
        Assert.StartsWith(error, Text(result.Data, "error"));
        Assert.False(result.Data.TryGetProperty("result", out _));
        if (error.StartsWith("The arguments were not a JSON object", StringComparison.Ordinal))
        {
            Assert.Equal(JsonValueKind.Null, call.Data.GetProperty("arguments").ValueKind);
        }

        // The model read the error (the emulator quotes it in its answer).
        Assert.Contains(error, events.Text());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_answer_that_keeps_calling_tools_ends_with_tool_rounds_exceeded_after_the_limit()
    {
        var events = await AskAsync("What is 1+1? [emulator:tool-rounds=50]");

        Assert.Equal(5, events.Count(e => e.Name == "tool_call"));
        Assert.Equal(5, events.Count(e => e.Name == "tool_result"));
        Assert.Equal("error", events[^1].Name);
        Assert.Equal("tool_rounds_exceeded", Text(events[^1].Data, "code"));
        Assert.Contains("5 rounds", Text(events[^1].Data, "message"));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task MaxTokens_caps_the_whole_answer_over_every_round_of_tools()
    {
        var (response, events) = await ChatStream.PostAsync(fixture.Api, ChatStream.Body("What is 12345 * 6789? [emulator:tool-rounds=2]", maxTokens: 30), Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Equal(2, events.Count(e => e.Name == "tool_result"));
        Assert.InRange(events[^2].Data.GetProperty("completionTokens").GetInt32(), 1, 30);
        Assert.Equal("length", Text(events[^1].Data, "reason"));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_stop_after_a_round_of_tools_still_counts_that_round_in_usage()
    {
        using var post = await fixture.Api.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(Body("What is 2^10? [emulator:delay=300]")) },
            HttpCompletionOption.ResponseHeadersRead, Timeout);
        var resultSeen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? requestId = null;
        var reading = ChatStream.ReadEventsAsync(post, until: null, Timeout, onEvent: e =>
        {
            requestId ??= e.Name == "start" ? Text(e.Data, "requestId") : null;
            if (e.Name == "tool_result")
            {
                resultSeen.TrySetResult(requestId!);
            }
        });
        using var stop = await ChatStream.StopAsync(fixture.Api, await resultSeen.Task.WaitAsync(Bounds.Stream, Timeout), Timeout);
        var events = await reading;

        Assert.Equal("stopped", Text(events[^1].Data, "reason"));
        var usage = events[^2].Data;
        // The call that asked for the tool wrote its arguments: billed, and counted.
        Assert.True(usage.GetProperty("completionTokens").GetInt32() > 0, usage.GetRawText());
        Assert.True(usage.GetProperty("promptTokens").GetInt32() >= events[0].Data.GetProperty("promptTokens").GetInt32(), usage.GetRawText());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_slow_tool_times_out_and_a_failing_one_says_only_that_it_failed()
    {
        var (api, server) = fixture.StartApi(
            new Dictionary<string, string> { ["Chat:Tools:Timeout"] = "00:00:00.500" },
            services: services => services
                .AddChatTool(AIFunctionFactory.Create(async () => { await Task.Delay(System.Threading.Timeout.Infinite, CancellationToken.None); return "never"; }, "hang"))
                .AddChatTool(AIFunctionFactory.Create(string () => throw new InvalidOperationException("password=hunter2 at db-7"), "explode")));
        await using var _ = server;
        using var __ = api;

        var slow = await AskAsync("Wait for it [emulator:tool=hang]", api);
        var (_, timedOut) = AssertOneCallThenAnswer(slow, "hang");
        Assert.Equal("The tool did not finish within 0.5 s.", Text(timedOut.Data, "error"));
        Assert.InRange(timedOut.Data.GetProperty("durationMs").GetInt64(), 400, 5000);

        var failing = await AskAsync("Break it [emulator:tool=explode]", api);
        var (_, failed) = AssertOneCallThenAnswer(failing, "explode");
        Assert.Equal("The tool failed.", Text(failed.Data, "error"));
        Assert.DoesNotContain(failing, e => e.RawData.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Stop_during_a_tool_run_cancels_the_tool_and_ends_the_answer_stopped()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (api, server) = fixture.StartApi(services: services => services.AddChatTool(AIFunctionFactory.Create(async (CancellationToken token) =>
        {
            started.TrySetResult();
            try
            {
                await Task.Delay(System.Threading.Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }

            return "never";
        }, "wait_forever")));
        await using var _ = server;
        using var __ = api;

        using var post = await api.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/chat/stream") { Content = JsonContent.Create(Body("[emulator:tool=wait_forever]")) },
            HttpCompletionOption.ResponseHeadersRead, Timeout);
        var requestId = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = ChatStream.ReadEventsAsync(post, until: null, Timeout, onEvent: e =>
        {
            if (e.Name == "start")
            {
                requestId.TrySetResult(Text(e.Data, "requestId")!);
            }
        });
        await started.Task.WaitAsync(Timeout);
        using var stop = await ChatStream.StopAsync(api, await requestId.Task.WaitAsync(Timeout), Timeout);
        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        var events = await reading;

        await cancelled.Task.WaitAsync(Bounds.Condition, Timeout);
        Assert.Single(events, e => e.Name == "tool_call");
        Assert.DoesNotContain(events, e => e.Name == "tool_result");
        Assert.Equal("finish", events[^1].Name);
        Assert.Equal("stopped", Text(events[^1].Data, "reason"));
    }
}
