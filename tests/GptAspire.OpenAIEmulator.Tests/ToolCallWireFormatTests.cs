using System.Text.Json;
using GptAspire.OpenAIEmulator.Services;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using static GptAspire.OpenAIEmulator.Tests.Infrastructure.ToolChat;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>
/// Tool calls on the wire, chunk by chunk, as OpenAI streams them: the role and the first call's id and name in the
/// first chunk (content null), the arguments a token a chunk, each further call under its own index, then
/// <c>finish_reason: "tool_calls"</c> and usage; the same on Azure's routes with their filter results; and whole.
/// </summary>
public sealed class ToolCallWireFormatTests(EmulatorFixture emulator)
{
    private static readonly ChatTokenizer Tokenizer = new();

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_time_question_streams_one_call_whose_arguments_arrive_over_several_chunks()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Body("What time is it in Tokyo?", stream: true), Cancellation);

        Assert.Equal(200, (int)response.StatusCode);
        var payloads = await Chat.EventsAsync(response);
        Assert.Equal("[DONE]", payloads[^1]);
        var chunks = Chat.Chunks(payloads);

        var first = Choice(chunks[0]).GetProperty("delta");
        Assert.Equal(["role", "content", "tool_calls", "refusal"], first.EnumerateObject().Select(property => property.Name));
        Assert.Equal(JsonValueKind.Null, first.GetProperty("content").ValueKind);
        var header = Assert.Single(first.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal(0, header.GetProperty("index").GetInt32());
        Assert.Matches("^call_[A-Za-z0-9]{24}$", header.GetProperty("id").GetString());
        Assert.Equal("function", header.GetProperty("type").GetString());
        Assert.Equal("""{"name":"get_current_time","arguments":""}""", header.GetProperty("function").GetRawText());

        var fragments = chunks.Skip(1).Take(chunks.Count - 3).ToList();
        Assert.True(fragments.Count >= 3, $"the arguments come in {fragments.Count} chunks");
        foreach (var fragment in fragments)
        {
            var call = Assert.Single(Choice(fragment).GetProperty("delta").GetProperty("tool_calls").EnumerateArray());
            Assert.Equal(["index", "function"], call.EnumerateObject().Select(property => property.Name));
            Assert.Equal(["arguments"], call.GetProperty("function").EnumerateObject().Select(property => property.Name));
            Assert.Equal(JsonValueKind.Null, Choice(fragment).GetProperty("finish_reason").ValueKind);
        }

        var (_, name, arguments) = Assert.Single(Calls(chunks));
        Assert.Equal("get_current_time", name);
        Assert.Equal("""{"timeZone":"Asia/Tokyo"}""", arguments);

        Assert.Equal("{}", Choice(chunks[^2]).GetProperty("delta").GetRawText());
        Assert.Equal("tool_calls", Choice(chunks[^2]).GetProperty("finish_reason").GetString());
        Assert.Empty(chunks[^1].GetProperty("choices").EnumerateArray());
        Assert.Equal(Tokenizer.Count(arguments) + Tokenizer.Count(name), chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("", Chat.Text(chunks));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_question_for_two_tools_streams_two_calls_with_distinct_indexes_and_ids()
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Body("What time is it in London, and what is 12*(3+4)?", stream: true), Cancellation);

        var chunks = Chat.Chunks(await Chat.EventsAsync(response));
        var calls = Calls(chunks);
        Assert.Equal(2, calls.Count);
        Assert.Equal(("get_current_time", """{"timeZone":"Europe/London"}"""), (calls[0].Name, calls[0].Arguments));
        Assert.Equal(("calculate", """{"expression":"12*(3+4)"}"""), (calls[1].Name, calls[1].Arguments));
        Assert.NotEqual(calls[0].Id, calls[1].Id);

        // The second call starts with its own header chunk, after every fragment of the first.
        var indexes = chunks.SelectMany(chunk => chunk.GetProperty("choices").EnumerateArray())
            .Where(choice => choice.GetProperty("delta").TryGetProperty("tool_calls", out _))
            .Select(choice => choice.GetProperty("delta").GetProperty("tool_calls")[0])
            .ToList();
        var secondStart = indexes.FindIndex(call => call.GetProperty("index").GetInt32() == 1);
        Assert.True(indexes[secondStart].TryGetProperty("id", out _));
        Assert.All(indexes.Take(secondStart), call => Assert.Equal(0, call.GetProperty("index").GetInt32()));
        Assert.All(indexes.Skip(secondStart), call => Assert.Equal(1, call.GetProperty("index").GetInt32()));
        Assert.Equal("tool_calls", Choice(chunks[^2]).GetProperty("finish_reason").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Parallel_tool_calls_false_makes_one_call_at_a_time()
    {
        using var client = emulator.CreateHttpClient();
        var body = Body("What time is it in London, and what is 12*(3+4)?");
        body["parallel_tool_calls"] = false;

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, Cancellation);

        var (_, name, _) = Assert.Single(Calls(await Chat.JsonAsync(response)));
        Assert.Equal("get_current_time", name);
    }

    [Theory(Timeout = Bounds.TestMs)]
    [InlineData(Chat.AzureV1Path)]
    [InlineData(Chat.AzureDeploymentPath)]
    public async Task Azure_routes_stream_calls_after_the_prompt_filter_chunk_with_empty_filter_results(string path)
    {
        using var client = emulator.CreateHttpClient();

        using var response = await Chat.SendAsync(client, path, Body("calculate 2^10", stream: true), Cancellation);

        var chunks = Chat.Chunks(await Chat.EventsAsync(response));
        Assert.Empty(chunks[0].GetProperty("choices").EnumerateArray());
        Assert.True(chunks[0].TryGetProperty("prompt_filter_results", out _));
        var choices = chunks.Skip(1).SkipLast(1).Select(Choice).ToList();
        Assert.All(choices, choice => Assert.Equal("{}", choice.GetProperty("content_filter_results").GetRawText()));
        Assert.Equal("assistant", choices[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("tool_calls", choices[^1].GetProperty("finish_reason").GetString());
        var (_, name, arguments) = Assert.Single(Calls(chunks.Skip(1)));
        Assert.Equal(("calculate", """{"expression":"2^10"}"""), (name, arguments));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_whole_reply_has_the_calls_content_null_and_the_same_ids_as_the_stream()
    {
        using var client = emulator.CreateHttpClient();
        const string prompt = "What time is it in New York and in Asia/Kolkata?";

        using var whole = await Chat.SendAsync(client, Chat.OpenAIPath, Body(prompt), Cancellation);
        using var streamed = await Chat.SendAsync(client, Chat.OpenAIPath, Body(prompt, stream: true), Cancellation);

        var completion = await Chat.JsonAsync(whole);
        var choice = completion.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        Assert.Equal("function", message.GetProperty("tool_calls")[0].GetProperty("type").GetString());
        var calls = Calls(completion);
        Assert.Equal(["""{"timeZone":"America/New_York"}""", """{"timeZone":"Asia/Kolkata"}"""], calls.Select(call => call.Arguments));
        Assert.Equal(calls, Calls(Chat.Chunks(await Chat.EventsAsync(streamed))));
        var usage = completion.GetProperty("usage");
        Assert.Equal(calls.Sum(call => Tokenizer.Count(call.Name) + Tokenizer.Count(call.Arguments)), usage.GetProperty("completion_tokens").GetInt32());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_tools_definitions_count_in_the_prompt_tokens()
    {
        using var client = emulator.CreateHttpClient();
        const string prompt = "Tell me about lighthouses";

        using var without = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt), Cancellation);
        using var with = await Chat.SendAsync(client, Chat.OpenAIPath, Body(prompt), Cancellation);

        var plain = (await Chat.JsonAsync(without)).GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var withTools = await Chat.JsonAsync(with);
        Assert.InRange(withTools.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), plain + 40, plain + 200);
        // Nothing in the question is for a tool: the ordinary answer.
        Assert.Equal("stop", withTools.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Argument_fragments_are_paced_like_tokens()
    {
        using var client = emulator.CreateHttpClient();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Body("What time is it in Tokyo? [emulator:delay=60]", stream: true), Cancellation);

        var events = await Chat.TimedEventsAsync(response, clock, Cancellation);
        var toolChunks = events.Where(@event => @event.Payload.Contains("\"tool_calls\"", StringComparison.Ordinal)).ToList();
        Assert.True(toolChunks.Count >= 4, $"{toolChunks.Count} tool call chunks");
        // One delay per chunk after the first: a burst would arrive within a few milliseconds.
        Assert.True(toolChunks[^1].At - toolChunks[0].At >= TimeSpan.FromMilliseconds(60 * (toolChunks.Count - 1) * 0.8),
            $"{toolChunks.Count} chunks in {(toolChunks[^1].At - toolChunks[0].At).TotalMilliseconds} ms");
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Drop_cuts_the_connection_in_the_middle_of_the_arguments()
    {
        using var client = emulator.CreateHttpClient();
        var received = new List<string>();

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Body("""Go [emulator:drop] [emulator:tool=calculate {"expression": "1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9"}]""", stream: true), Cancellation);
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(Cancellation));
            while (await reader.ReadLineAsync(Cancellation) is { } line)
            {
                received.Add(line);
            }
        });

        Assert.Contains(received, line => line.Contains("\"arguments\":\"{", StringComparison.Ordinal));
        Assert.DoesNotContain(received, line => line.Contains("finish_reason\":\"", StringComparison.Ordinal));
        Assert.DoesNotContain("data: [DONE]", received);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Max_tokens_cuts_the_arguments_with_finish_reason_length()
    {
        using var client = emulator.CreateHttpClient();
        var body = Body("What time is it in Tokyo?", stream: true);
        body["max_tokens"] = 5;

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, Cancellation);

        var chunks = Chat.Chunks(await Chat.EventsAsync(response));
        Assert.Equal("length", Choice(chunks[^2]).GetProperty("finish_reason").GetString());
        Assert.Equal(5, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.StartsWith("{\"", Assert.Single(Calls(chunks)).Arguments);
    }
}
