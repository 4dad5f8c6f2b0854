using GptAspire.OpenAIEmulator.Models;
using GptAspire.OpenAIEmulator.Services;

namespace GptAspire.OpenAIEmulator.Tests;

public sealed class ScenarioParsingTests
{
    [Fact]
    public void DirectivesCombineAndTakeValues()
    {
        var scenario = Scenario.Parse("Please [emulator:slow-first-token=500] answer [EMULATOR:Delay=7] and [emulator:long][emulator:xss]");

        Assert.Equal(500, scenario.FirstTokenDelayMs);
        Assert.Equal(7, scenario.TokenDelayMs);
        Assert.True(scenario.Long);
        Assert.True(scenario.Xss);
        Assert.Equal(["slow-first-token", "delay", "long", "xss"], scenario.Names);
    }

    [Fact]
    public void DirectivesWithoutValuesTakeTheDocumentedDefaults()
    {
        var scenario = Scenario.Parse("[emulator:rate-limit] [emulator:slow-first-token]");

        Assert.Equal(2, scenario.RateLimitSeconds);
        Assert.Equal(3000, scenario.FirstTokenDelayMs);
        Assert.Null(scenario.TokenDelayMs);
        Assert.Null(scenario.LongTokens);
        Assert.Equal(1500, Scenario.Parse("[emulator:long]").LongTokens);
    }

    [Fact]
    public void LongTakesATokenCountWithinTheLargestAnswer()
    {
        Assert.Equal(4000, Scenario.Parse("[emulator:long=4000]").LongTokens);
        Assert.Equal(16_384, Scenario.Parse("[emulator:long=99999]").LongTokens);
        Assert.Equal(1, Scenario.Parse("[emulator:long=0]").LongTokens);
    }

    [Fact]
    public void UnknownDirectivesAndPlainTextAreIgnored()
    {
        Assert.Same(Scenario.None, Scenario.Parse("[emulator:teleport] [other:drop] emulator:drop"));
        Assert.Empty(Scenario.Parse(null).Names);
    }

    [Fact]
    public void StripRemovesDirectivesOnly()
    {
        Assert.Equal("What is  DNS?", Scenario.Strip("What is [emulator:delay=5] DNS?"));
    }
}

public sealed class TokenizerTests
{
    private static readonly ChatTokenizer Tokenizer = new();

    [Fact]
    public void ATokenEndingInsideACharacterIsMergedWithTheNext()
    {
        const string text = "Ship it 🚀 today, naïve café, 日本語";
        var ids = Tokenizer.Encode(text);

        var pieces = Tokenizer.Pieces(ids).ToList();

        Assert.Equal(text, string.Concat(pieces.Select(piece => piece.Text)));
        Assert.Equal(ids.Count, pieces.Sum(piece => piece.TokenCount));
        Assert.All(pieces, piece => Assert.DoesNotContain('\uFFFD', piece.Text));
        Assert.Contains(pieces, piece => piece.TokenCount == 2 && piece.Text.Contains("🚀"));
    }

    [Fact]
    public void PromptTokensAreCountedAsOpenAIBillsThem()
    {
        ChatMessage[] messages =
        [
            new() { Role = "system", Content = System.Text.Json.JsonSerializer.SerializeToElement("Be brief.") },
            new() { Role = "user", Content = System.Text.Json.JsonSerializer.SerializeToElement("Hello there"), Name = "ada" },
        ];

        // 3 + (3 + system + "Be brief.") + (3 + user + "Hello there" + "ada" + 1)
        var expected = 3 + (3 + Tokenizer.Count("system") + Tokenizer.Count("Be brief."))
                         + (3 + Tokenizer.Count("user") + Tokenizer.Count("Hello there") + Tokenizer.Count("ada") + 1);
        Assert.Equal(expected, Tokenizer.CountPrompt(messages));
    }
}

public sealed class FingerprintAndMaskTests
{
    [Fact]
    public void TheConversationHashIsStableAcrossProcesses()
    {
        ChatMessage[] messages = [new() { Role = "user", Content = System.Text.Json.JsonSerializer.SerializeToElement("hello") }];

        // A fixed value: string.GetHashCode would differ on every run.
        Assert.Equal(FingerprintOfHello, ConversationFingerprint.Of(messages));
    }

    [Theory]
    [InlineData("sk-abcdefghij-klmnopqrstuvwxyz", "sk-ab**********************xyz")]
    [InlineData("short-key", "sh*******")]
    [InlineData("abc", "***")]
    public void KeysAreMaskedLikeOpenAIDoes(string key, string masked)
    {
        Assert.Equal(masked, EmulatorErrors.Mask(key));
    }

    private const ulong FingerprintOfHello = 5562398397940553681;
}

public sealed class PromptCountTests
{
    private static readonly ChatTokenizer Tokenizer = new();

    [Fact]
    public void PromptsAreCountedByTheFormulaTheApiUses()
    {
        var shared = GptAspire.Tokenization.ChatTokenCounter.ForModel("gpt-4o");
        var messages = new List<ChatMessage>
        {
            new() { Role = "system", Content = System.Text.Json.JsonSerializer.SerializeToElement("Be brief.") },
            new() { Role = "user", Content = System.Text.Json.JsonSerializer.SerializeToElement("Hello"), Name = "alice" },
        };

        Assert.Equal(
            shared.CountPrompt([new("system", "Be brief."), new("user", "Hello", "alice")]),
            Tokenizer.CountPrompt(messages));
        // 3 + (3 + system + "Be brief.") + (3 + user + Hello + alice + 1)
        Assert.Equal(3 + 3 + 1 + 3 + 3 + 1 + 1 + 1 + 1, Tokenizer.CountPrompt(messages));
    }
}
