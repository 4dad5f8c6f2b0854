using System.Security.Cryptography;
using System.Text;
using GptAspire.OpenAIEmulator.Models;
using System.Text.RegularExpressions;

namespace GptAspire.OpenAIEmulator.Services;

/// <summary>
/// Writes the reply text: readable Markdown (paragraphs, a bullet list, a fenced code block) assembled
/// from fixed sentences chosen by a seed, naming a few words of the question. The one place a reply is
/// decided: it is a function of the conversation (without its directives), the temperature and the seed.
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

    // Longer "words" (a run of letters without spaces) are not repeated: the reply would be as long as the prompt.
    private const int MaxKeywordLength = 40;

    /// <summary>The reply to <paramref name="messages"/> (the question is the last user message) under the sampling settings.</summary>
    public string Compose(IReadOnlyList<ChatMessage> messages, double? temperature, long? seed, Scenario scenario)
    {
        var question = Scenario.Strip(messages.LastOrDefault(message => message.Role == "user")?.Text() ?? "");
        return Compose(SeedFor(messages, temperature, seed), question, scenario);
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

    private string Compose(ulong seed, string question, Scenario scenario)
    {
        var random = new DeterministicRandom(seed);
        var keywords = Keywords(question);
        var reply = scenario.Xss ? Hostile(keywords, random) : Ordinary(keywords, random);
        if (scenario.LongTokens is not { } longTokens)
        {
            return reply;
        }

        var text = new StringBuilder(reply);
        while (tokenizer.Count(text.ToString()) < longTokens)
        {
            text.Append("\n\n").Append(Section(keywords, random));
        }

        return text.ToString();
    }

    private string Ordinary(IReadOnlyList<string> keywords, DeterministicRandom random)
    {
        var topic = Topic(keywords);
        var opening = $"{Fill(random.Pick(Openers), topic)} {random.Pick(Explanations)}";
        var details = random.PickDistinct(Details, 3);
        var detailCount = 2;
        var bullets = random.PickDistinct(Bullets, 4).ToList();
        var listIntro = random.Pick(ListIntros);
        var code = Code(keywords, random);
        var closing = Fill(random.Pick(Closings), keywords.Count > 0 ? $"**{keywords[0]}**" : "it");

        string Render() => $"""
            {opening}

            {string.Join(" ", details.Take(detailCount))}

            {listIntro}

            {string.Join("\n", bullets.Select(bullet => $"- {bullet}"))}

            {code}

            {closing}
            """;

        var reply = Render();
        while (tokenizer.Count(reply) > MaxTokens && bullets.Count > 2)
        {
            bullets.RemoveAt(bullets.Count - 1);
            reply = Render();
        }

        if (tokenizer.Count(reply) < MinTokens)
        {
            detailCount = details.Count;
            reply = Render();
        }

        return reply;
    }

    private static string Hostile(IReadOnlyList<string> keywords, DeterministicRandom random) => $"""
        Here is an answer about {Topic(keywords)}, written with markup that a chat window must show as text and never run.

        <img src=x onerror="window.__xss=1">

        <script>window.__xss=2</script>

        If you want the details, [click me](javascript:window.__xss=3) or read on.

        - {random.Pick(Bullets)}
        - {random.Pick(Bullets)}

        {Fill(random.Pick(Closings), "it")}
        """;

    private string Section(IReadOnlyList<string> keywords, DeterministicRandom random) => $"""
        {string.Join(" ", random.PickDistinct(Details, 3))}

        {random.Pick(ListIntros)}

        {string.Join("\n", random.PickDistinct(Bullets, 3).Select(bullet => $"- {bullet}"))}

        {Code(keywords, random)}
        """;

    private static string Code(IReadOnlyList<string> keywords, DeterministicRandom random)
    {
        var (language, comment, body) = random.Pick(Snippets);
        var subject = keywords.Count > 0 ? string.Join(" ", keywords) : "example";
        var header = comment is null ? "" : $"{comment} {subject}\n";
        return $"{random.Pick(CodeIntros)}\n\n```{language}\n{header}{body}\n```";
    }

    private static string Topic(IReadOnlyList<string> keywords) => keywords.Count switch
    {
        0 => "your question",
        1 => $"**{keywords[0]}**",
        _ => $"**{keywords[0]}** and **{keywords[1]}**",
    };

    private static string Fill(string template, string value) => template.Replace("{0}", value);

    /// <summary>Up to two words of the question worth repeating; only letters and digits, so they cannot inject markup.</summary>
    public static IReadOnlyList<string> Keywords(string question)
    {
        var keywords = new List<string>(2);
        foreach (Match match in Word().Matches(question))
        {
            var word = match.Value;
            var ascii = word.All(char.IsAscii);
            if ((ascii && word.Length < 4) || word.Length < 2 || word.Length > MaxKeywordLength || word.All(char.IsDigit)
                || StopWords.Contains(word)
                || keywords.Contains(word, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            keywords.Add(word);
            if (keywords.Count == 2)
            {
                break;
            }
        }

        return keywords;
    }

    [GeneratedRegex(@"[\p{L}\p{N}][\p{L}\p{N}-]*[\p{L}\p{N}]|[\p{L}\p{N}]")]
    private static partial Regex Word();

    private static readonly HashSet<string> StopWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "about", "above", "after", "again", "also", "been", "before", "being", "best", "between", "both",
        "can't", "could", "does", "doing", "done", "each", "even", "explain", "from", "give", "good", "have",
        "having", "hello", "here", "into", "just", "know", "like", "make", "many", "more", "most", "much",
        "need", "only", "other", "please", "really", "should", "show", "some", "such", "tell", "than", "thank",
        "thanks", "that", "their", "them", "then", "there", "these", "they", "thing", "things", "this",
        "those", "very", "want", "were", "what", "when", "where", "which", "while", "will", "with", "would",
        "write", "your", "yours",
    };

    private static readonly string[] Openers =
    [
        "Here is a practical way to think about {0}.",
        "Good question about {0}.",
        "Let's break down {0} step by step.",
        "A short, hands-on answer on {0}.",
        "There are a few things worth knowing about {0}.",
    ];

    private static readonly string[] Explanations =
    [
        "The core idea is to start with the smallest version that works, measure it, and only then add the pieces you actually need.",
        "Most of the difficulty comes from the edges: timeouts, retries, partial failures and the moments when a user changes their mind halfway through.",
        "It helps to separate what the system must guarantee from what is merely convenient, because the two tend to pull the design in different directions.",
        "In practice the answer depends less on the tools you pick and more on how clearly you define the inputs, the outputs and the failure modes.",
        "A good mental model is a pipeline: each stage does one job, hands its result to the next, and reports clearly when something goes wrong.",
    ];

    private static readonly string[] Details =
    [
        "Keep the configuration in one place so that a change is made once and is visible to everyone reading the code.",
        "Log the decisions your code makes, not just the errors, so the next person can follow what happened without a debugger.",
        "Write a test for the behaviour a user would notice first; it pays for itself the first time something regresses.",
        "When performance matters, measure before you optimise — intuition is a poor guide to where the time really goes.",
        "Prefer small, composable functions over one clever routine; they are easier to name, to test and to replace.",
        "Treat every network call as something that can be slow, fail, or succeed twice, and design the retry policy with that in mind.",
        "Document the why next to the code, because the what is already there for anyone who reads it.",
    ];

    private static readonly string[] ListIntros =
    [
        "A few points to keep in mind:",
        "Things that usually help:",
        "What to check first:",
    ];

    private static readonly string[] Bullets =
    [
        "**Start small**: get one end-to-end path working before adding options.",
        "**Make failures visible**: return clear errors and record them with enough context.",
        "**Automate the checks**: a short test suite beats a long checklist.",
        "**Mind the limits**: timeouts, quotas and payload sizes shape the design more than features do.",
        "**Keep it observable**: traces and metrics turn guesses into answers.",
        "**Be deterministic where you can**: the same input should give the same output.",
        "**Iterate** 🚀: ship the simple version, then improve it with real feedback.",
    ];

    private static readonly string[] CodeIntros =
    [
        "For example:",
        "A minimal sketch:",
        "Here is a small example:",
    ];

    private static readonly (string Language, string? Comment, string Body)[] Snippets =
    [
        ("csharp", "//", """
            var retry = new RetryOptions { MaxAttempts = 3, Delay = TimeSpan.FromSeconds(2) };
            var response = await pipeline.ExecuteAsync(token => client.SendAsync(request, token), cancellationToken);
            Console.WriteLine($"Status: {response.StatusCode}");
            """),
        ("bash", "#", """
            curl -s http://localhost:5090/v1/models \
              -H "Authorization: Bearer $API_KEY" | jq '.data[].id'
            """),
        ("json", null, """
            {
              "name": "example",
              "retries": 3,
              "timeoutSeconds": 30,
              "features": ["streaming", "telemetry"]
            }
            """),
        ("ts", "//", """
            export async function withRetry<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
              for (let i = 1; ; i++) {
                try { return await run() } catch (e) { if (i >= attempts) throw e }
              }
            }
            """),
        ("python", "#", """
            def chunked(items, size):
                for start in range(0, len(items), size):
                    yield items[start:start + size]
            """),
    ];

    private static readonly string[] Closings =
    [
        "In short: keep {0} simple, observable and tested, and it will stay easy to change.",
        "That should be enough to get started; the details become clearer once you try it on a real example.",
        "If anything here does not match your situation, share a bit more context and I can be more specific.",
        "Start with the first point above and revisit the rest once the basics are in place.",
    ];
}
