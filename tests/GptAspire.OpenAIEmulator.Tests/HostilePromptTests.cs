using System.Diagnostics;
using System.Text.Json.Nodes;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;
using GptAspire.Tokenization;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>A prompt that would take a tokenizer minutes (one long run without spaces) is counted in bounded time.</summary>
public sealed class HostilePromptTests(EmulatorFixture emulator)
{
    [Fact(Timeout = Bounds.TestMs)]
    public async Task AMegabyteOfOneLetterIsAnsweredWithItsPromptTokens()
    {
        using var client = emulator.CreateHttpClient();
        var letters = new string('a', 1 << 20);
        var body = new JsonObject
        {
            ["model"] = "gpt-4o-mini",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = letters }),
            ["max_tokens"] = 5,
        };

        var clock = Stopwatch.StartNew();
        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, TestContext.Current.CancellationToken);
        var completion = await Chat.JsonAsync(response);
        TestContext.Current.TestOutputHelper!.WriteLine($"emulator, 1 MiB of one letter: answered in {clock.ElapsedMilliseconds} ms");

        Assert.Equal(200, (int)response.StatusCode);
        var expected = ChatTokenCounter.ForModel("gpt-4o").CountPrompt([new("user", letters)]);
        Assert.Equal(expected, completion.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        // One letter repeated merges into 8-letter tokens: the count is the real one, not an estimate of it.
        Assert.Equal(3 + 1 + (1 << 20) / 8 + 3, expected);
    }
}
