using System.Security.Cryptography;
using System.Text;
using GptAspire.OpenAIEmulator.Models;
using System.Text.RegularExpressions;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// Writes the reply text: a short, plausible answer in readable Markdown (paragraphs, a bullet list, and for a
/// programming question a fenced code block) on the topic of the question (<see cref="ReplyTopic"/>), its
/// sentences chosen by a seed. The one place a reply is decided: it is a function of the conversation (without
/// its directives), the temperature and the seed.
/// <list type="bullet">
/// <item>Temperature 0, or none (tests and resumes repeat): the same conversation always gets the same text.</item>
/// <item>A <c>seed</c> with a temperature above 0: the same text for the same conversation and seed.</item>
/// <item>A temperature above 0 without a seed: a different text each time, as a model samples.</item>
/// </list>
/// The model does not change the text: every model of the emulator writes alike.
/// </summary>
public sealed partial class ReplyComposer(ChatTokenizer tokenizer)
{
    public const int MinTokens = 120;
    public const int MaxTokens = 250;

    /// <summary>The reply to <paramref name="messages"/> (the question is the last user message) under the sampling settings.</summary>
    public string Compose(IReadOnlyList<ChatMessage> messages, double? temperature, long? seed, Scenario scenario)
    {
        var question = Scenario.Strip(messages.LastOrDefault(message => message.Role == "user")?.Text() ?? "");
        return Compose(SeedFor(messages, temperature, seed), TopicOf(question), scenario);
    }

    /// <summary>What the reply's choices are drawn from; see the class for when it varies.</summary>
    public static ulong SeedFor(IReadOnlyList<ChatMessage> messages, double? temperature, long? seed)
    {
        var conversation = ConversationFingerprint.Of(messages, withoutDirectives: true);
        if (temperature is not > 0)
        {
            return conversation;
        }

        var salt = seed is { } fixedSeed ? unchecked((ulong)fixedSeed) : BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        // One SplitMix64 step over both, so that nearby seeds give unrelated replies.
        return new DeterministicRandom(conversation ^ salt).NextUInt64();
    }

    /// <summary>The topic of a question, by its words ("C#" and ".NET" included).</summary>
    public static ReplyTopic TopicOf(string question) =>
        ReplyTopic.Of(Word().Matches(question).Select(match => match.Value.ToLowerInvariant()));

    private string Compose(ulong seed, ReplyTopic topic, Scenario scenario)
    {
        var random = new DeterministicRandom(seed);
        var reply = scenario.Xss ? Hostile(topic, random) : Ordinary(topic, random);
        if (scenario.LongTokens is not { } longTokens)
        {
            return reply;
        }

        var text = new StringBuilder(reply);
        while (tokenizer.Count(text.ToString()) < longTokens)
        {
            text.Append("\n\n").Append(Section(topic, random));
        }

        return text.ToString();
    }

    private string Ordinary(ReplyTopic topic, DeterministicRandom random)
    {
        var facts = random.PickDistinct(topic.Facts, topic.Facts.Length);
        var opening = $"{random.Pick(topic.Openings)} {facts[0]}";
        var detailCount = 2;
        var points = random.PickDistinct(topic.Points, 4).ToList();
        var listIntro = random.Pick(topic.ListIntros);
        var code = Code(topic, random);
        var closing = random.Pick(topic.Closings);

        string Render() => $"""
            {opening}

            {string.Join(" ", facts.Skip(1).Take(detailCount))}

            {listIntro}

            {string.Join("\n", points.Select(point => $"- {point}"))}
            {code}
            {closing}
            """;

        var reply = Render();
        while (tokenizer.Count(reply) > MaxTokens && points.Count > 2)
        {
            points.RemoveAt(points.Count - 1);
            reply = Render();
        }

        while (tokenizer.Count(reply) < MinTokens && detailCount < facts.Count - 1)
        {
            detailCount++;
            reply = Render();
        }

        return reply;
    }

    private static string Hostile(ReplyTopic topic, DeterministicRandom random) => $"""
        Here is an answer about {topic.Name}, written with markup that a chat window must show as text and never run.

        <img src=x onerror="window.__xss=1">

        <script>window.__xss=2</script>

        If you want the details, [click me](javascript:window.__xss=3) or read on.

        - {random.Pick(topic.Points)}
        - {random.Pick(topic.Points)}

        {random.Pick(topic.Closings)}
        """;

    private static string Section(ReplyTopic topic, DeterministicRandom random) => $"""
        {string.Join(" ", random.PickDistinct(topic.Facts, 3))}

        {random.Pick(topic.ListIntros)}

        {string.Join("\n", random.PickDistinct(topic.Points, 3).Select(point => $"- {point}"))}
        {Code(topic, random)}
        """.TrimEnd();

    // Between the list and the closing: a blank line, or a code block with a blank line on each side.
    private static string Code(ReplyTopic topic, DeterministicRandom random)
    {
        if (topic.Code.Length == 0)
        {
            return "";
        }

        var (language, body) = random.Pick(topic.Code);
        return $"\n{random.Pick(CodeIntros)}\n\n```{language}\n{body}\n```\n";
    }

    // Words, and the "#" or "+" that ends a language's name (C#, C++); the "." of ".NET" is left out.
    [GeneratedRegex(@"[\p{L}\p{N}][\p{L}\p{N}'-]*[#+]*")]
    private static partial Regex Word();

    private static readonly string[] CodeIntros =
    [
        "For example:",
        "A minimal sketch:",
        "Here is a small example:",
    ];
}
