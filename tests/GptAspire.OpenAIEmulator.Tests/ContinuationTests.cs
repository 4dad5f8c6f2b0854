using System.Text.Json.Nodes;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>
/// A conversation that ends with an assistant message that starts the reply the emulator would give is continued
/// exactly: the emulator sends the rest and nothing else, so an API replica that takes an answer over can be
/// checked byte for byte against the answer given without a fault.
/// </summary>
public sealed class ContinuationTests(EmulatorFixture emulator)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    private static JsonObject Continue(string prompt, string partial, bool stream = false)
    {
        var body = Chat.Body(prompt, stream: stream, includeUsage: stream);
        body["messages"]!.AsArray().Add(new JsonObject { ["role"] = "assistant", ["content"] = partial });
        return body;
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task A_partial_answer_cut_anywhere_even_inside_the_code_block_is_continued_with_exactly_the_rest()
    {
        using var client = emulator.CreateHttpClient();
        const string prompt = "How do I continue an interrupted download in C#?";
        using var whole = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt), Timeout);
        var reply = (await Chat.JsonAsync(whole)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

        var fence = reply.IndexOf("```", StringComparison.Ordinal);
        Assert.True(fence > 0, "the reply has a fenced code block");
        var insideCode = reply.IndexOf('\n', fence + 3) + 5;
        foreach (var cut in new[] { 1, reply.Length / 3, fence + 3, insideCode, reply.Length - 1 })
        {
            using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Continue(prompt, reply[..cut], stream: true), Timeout);
            var rest = Chat.Text(Chat.Chunks(await Chat.EventsAsync(response)));
            Assert.Equal(reply[cut..], rest);
        }
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task An_assistant_message_that_is_not_the_start_of_the_reply_gets_the_whole_reply()
    {
        using var client = emulator.CreateHttpClient();
        const string prompt = "Tell me about harbours";
        using var whole = await Chat.SendAsync(client, Chat.OpenAIPath, Chat.Body(prompt), Timeout);
        var reply = (await Chat.JsonAsync(whole)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, Continue(prompt, "Something else entirely"), Timeout);
        Assert.Equal(reply, (await Chat.JsonAsync(response)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }
}
