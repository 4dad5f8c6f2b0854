using System.Text.Json;
using System.Text.RegularExpressions;
using GptAspire.OpenAIEmulator.Models;
using GptAspire.OpenAIEmulator.Services;
using GptAspire.OpenAIEmulator.Tests.Infrastructure;

namespace GptAspire.OpenAIEmulator.Tests;

/// <summary>What a reply says: a short answer on the question's topic, the same when asked to repeat, another when sampled.</summary>
public sealed partial class ReplyTests(EmulatorFixture emulator)
{
    private static CancellationToken Timeout => TestContext.Current.CancellationToken;

    // Each question with words its answer uses, whatever its variant: at least two of them must appear.
    public static TheoryData<string, string[]> Topics => new()
    {
        { "tell me about the sea", ["sea", "ocean", "tide", "wave", "coast", "shore", "water", "marine"] },
        { "How far away are the stars?", ["star", "sun", "planet", "moon", "light", "universe", "orbit", "sky"] },
        { "How do I cook pasta for dinner?", ["cook", "salt", "pan", "dish", "recipe", "taste", "heat", "ingredient"] },
        { "Why do I sleep so badly?", ["sleep", "bed", "daylight", "caffeine", "habit", "walk", "tired", "routine"] },
        { "Will it rain tomorrow? What does the forecast mean?", ["rain", "forecast", "weather", "wind", "cloud", "air", "storm", "layer"] },
        { "What is the meaning of life?", ["question", "source", "answer", "example", "precise", "understand"] },
        // Words that belong to two topics go to the one the question means.
        { "How much salt should I put in bread dough?", ["cook", "salt", "pan", "dish", "recipe", "taste", "heat", "ingredient", "dough", "bake"] },
        { "How do I treat a cold?", ["sleep", "bed", "daylight", "caffeine", "habit", "walk", "tired", "routine"] },
        { "Who was Johann Sebastian Bach?", ["music", "practice", "song", "instrument", "melody", "rhythm", "chord", "listen"] },
    };

    [Theory(Timeout = Bounds.TestMs)]
    [MemberData(nameof(Topics))]
    public async Task A_question_gets_a_short_answer_on_its_topic(string question, string[] topicWords)
    {
        var reply = await ReplyAsync(question, temperature: null, seed: null);

        var used = topicWords.Where(word => reply.Contains(word, StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(used.Count >= 2, $"The answer to '{question}' uses {used.Count} of its topic's words: {reply}");
        // Sentences, not the question's words repeated in bold.
        Assert.Matches(SentenceEnd(), reply.Split('\n')[0]);
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task The_sea_gets_the_same_answer_at_temperature_0_and_for_a_fixed_seed_and_a_new_one_at_temperature_1()
    {
        const string question = "tell me about the sea";
        var first = await ReplyAsync(question, temperature: 0, seed: null);
        var seeded = await ReplyAsync(question, temperature: 1, seed: 5);

        Assert.Equal(first, await ReplyAsync(question, temperature: 0, seed: null));
        Assert.Equal(seeded, await ReplyAsync(question, temperature: 1, seed: 5));
        var sampled = new HashSet<string>();
        for (var i = 0; i < 4; i++)
        {
            sampled.Add(await ReplyAsync(question, temperature: 1, seed: null));
        }

        Assert.True(sampled.Count >= 3, $"Only {sampled.Count} different answers in 4 at temperature 1.");
        Assert.All(sampled, reply => Assert.Contains("sea", reply, StringComparison.OrdinalIgnoreCase));
    }

    [Fact(Timeout = Bounds.TestMs)]
    public async Task Different_topics_get_different_answers()
    {
        var sea = await ReplyAsync("tell me about the sea", temperature: null, seed: null);
        var space = await ReplyAsync("tell me about space", temperature: null, seed: null);
        var cooking = await ReplyAsync("tell me about cooking", temperature: null, seed: null);

        // Not one sentence in common: each is written from its own topic.
        var sentences = new[] { sea, space, cooking }.Select(reply => SentenceEnd().Split(reply).Select(s => s.Trim()).Where(s => s.Length > 20).ToHashSet()).ToList();
        Assert.Empty(sentences[0].Intersect(sentences[1]));
        Assert.Empty(sentences[0].Intersect(sentences[2]));
        Assert.Empty(sentences[1].Intersect(sentences[2]));
    }

    // The length every reply keeps (the API's tests and the takeover rely on it), and the Markdown the page renders:
    // paragraphs and a list always, a code block for a programming question only.
    [Theory]
    [InlineData("tell me about the sea", false)]
    [InlineData("What is a black hole in space?", false)]
    [InlineData("A recipe for bread", false)]
    [InlineData("How do I debug an async method in C#?", true)]
    [InlineData("What happened to the Roman empire?", false)]
    [InlineData("How do I learn guitar?", false)]
    [InlineData("I am always tired", false)]
    [InlineData("Is a storm coming?", false)]
    [InlineData("Plan a trip to Lisbon", false)]
    [InlineData("What is the meaning of life?", false)]
    public void Every_variant_is_120_to_250_tokens_of_paragraphs_a_list_and_code_for_programming(string question, bool code)
    {
        var tokenizer = new ChatTokenizer();
        var composer = new ReplyComposer(tokenizer);
        var messages = new[] { new ChatMessage { Role = "user", Content = JsonSerializer.SerializeToElement(question) } };

        for (var seed = 0; seed < 200; seed++)
        {
            var reply = composer.Compose(messages, temperature: 1, seed, Scenario.None);

            Assert.InRange(tokenizer.Count(reply), ReplyComposer.MinTokens, ReplyComposer.MaxTokens);
            Assert.Contains("\n\n", reply);
            Assert.Matches(new Regex(@"^- \*\*", RegexOptions.Multiline), reply);
            Assert.Equal(code, Regex.IsMatch(reply, @"^```\w+\n[\s\S]+\n```$", RegexOptions.Multiline));
        }
    }

    private async Task<string> ReplyAsync(string question, double? temperature, long? seed)
    {
        using var client = emulator.CreateHttpClient();
        var body = Chat.Body(question);
        if (temperature is { } t)
        {
            body["temperature"] = t;
        }

        if (seed is { } s)
        {
            body["seed"] = s;
        }

        using var response = await Chat.SendAsync(client, Chat.OpenAIPath, body, Timeout);
        return (await Chat.JsonAsync(response)).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    [GeneratedRegex(@"(?<=[.!?])\s")]
    private static partial Regex SentenceEnd();
}
