using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>Temperature and seed, as a model samples: the same reply when asked to repeat, another when not.</summary>
public sealed class SamplingTests(EmulatorFixture emulator)
{
    private const string Prompt = "How do I keep a cache warm after a deploy?";

    [Fact]
    public async Task Temperature_zero_or_none_gives_the_same_reply_byte_for_byte()
    {
        var none = await ReplyAsync(temperature: null, seed: null);

        Assert.Equal(none, await ReplyAsync(temperature: null, seed: null));
        Assert.Equal(none, await ReplyAsync(temperature: 0, seed: null));
        Assert.Equal(none, await ReplyAsync(temperature: 0, seed: 42));
    }

    [Fact]
    public async Task A_temperature_above_zero_without_a_seed_gives_a_different_reply_each_time()
    {
        var replies = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            replies.Add(await ReplyAsync(temperature: 1, seed: null));
        }

        // Replies are drawn from a few hundred combinations: four alike would be a broken sampler, not chance.
        Assert.True(replies.Count >= 3, $"Only {replies.Count} different replies in 4 at temperature 1.");
        // Sampled from the same topic: each one answers the programming question with code.
        Assert.All(replies, reply => Assert.Contains("```", reply));
    }

    [Fact]
    public async Task A_seed_repeats_the_reply_at_any_temperature_and_another_seed_changes_it()
    {
        var seeded = await ReplyAsync(temperature: 1.2, seed: 7);

        Assert.Equal(seeded, await ReplyAsync(temperature: 1.2, seed: 7));
        Assert.NotEqual(seeded, await ReplyAsync(temperature: 1.2, seed: 8));
    }

    [Fact]
    public async Task A_streamed_reply_is_the_whole_reply_under_the_same_sampling_settings()
    {
        using var client = emulator.CreateHttpClient();
        var body = Chat.Body(Prompt, stream: true);
        body["temperature"] = 0.9;
        body["seed"] = 11;
        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, TestContext.Current.CancellationToken);

        var streamed = Chat.Text(Chat.Chunks(await Chat.EventsAsync(response)));

        Assert.Equal(await ReplyAsync(temperature: 0.9, seed: 11), streamed);
    }

    private async Task<string> ReplyAsync(double? temperature, long? seed)
    {
        using var client = emulator.CreateHttpClient();
        var body = Chat.Body(Prompt);
        if (temperature is { } t)
        {
            body["temperature"] = t;
        }

        if (seed is { } s)
        {
            body["seed"] = s;
        }

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, TestContext.Current.CancellationToken);
        var completion = await Chat.JsonAsync(response);
        return completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }
}
