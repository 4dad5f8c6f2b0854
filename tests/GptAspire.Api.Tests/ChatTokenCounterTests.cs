using System.Diagnostics;
using GptAspire.Tokenization;
using Microsoft.ML.Tokenizers;

namespace GptAspire.Api.Tests;

/// <summary>The prompt-token count shared by the API and the emulator: exact on text, bounded on hostile runs.</summary>
public class ChatTokenCounterTests
{
    private static readonly ChatTokenCounter Counter = ChatTokenCounter.ForModel("gpt-4o");
    private static Tokenizer Exact => Counter.Tokenizer;

    public static TheoryData<string> OrdinaryTexts =>
    [
        "Hello, world",
        "What is DNS? Explain it to a five-year-old, with an example.\n\nThen list three record types.",
        "public static int Add(int a, int b) => a + b; // 12345678 + 0.5e-3",
        "日本語のテキストと English が混ざった文。",
        "Ship it 🚀 today, naïve café, Ærøskøbing, Straße",
        "<|endoftext|> is text here, not a special token <|im_start|>",
        "   indented\n\t\ttabs\r\n\r\n    more   spaces   ",
    ];

    [Theory]
    [MemberData(nameof(OrdinaryTexts))]
    public void Ordinary_text_is_counted_exactly(string text)
    {
        Assert.Equal(Exact.CountTokens(text), Counter.Count(text));
    }

    public static TheoryData<string, string> LongRuns => new()
    {
        { "one letter", new string('a', 16_384) },
        { "punctuation", new string('!', 16_384) },
        { "spaces", new string(' ', 16_384) },
        { "random letters", Random(16_384, "abcdefghijklmnopqrstuvwxyz") },
        { "CJK", Random(16_384, "你好世界中文字符測試") },
        { "emoji", string.Concat(Enumerable.Repeat("😀", 8_192)) },
    };

    [Theory]
    [MemberData(nameof(LongRuns))]
    public void A_run_longer_than_a_chunk_is_counted_within_one_percent(string name, string text)
    {
        var exact = Exact.CountTokens(text);
        var counted = Counter.Count(text);

        Assert.True(Math.Abs(counted - exact) <= exact / 100.0, $"{name}: counted {counted}, exactly {exact}");
    }

    [Fact]
    public void Counting_stops_once_past_the_limit()
    {
        var megabyte = new string('a', 1 << 20);

        var counted = Counter.Count(megabyte, stopAfter: 1000);

        // At most one chunk past the limit: the rest of the megabyte is never tokenized.
        Assert.InRange(counted, 1001, 1000 + ChatTokenCounter.ChunkLength);
    }

    [Fact]
    public void The_prompt_formula_is_OpenAIs()
    {
        // OpenAI reports prompt_tokens = 8 for [{"role":"user","content":"Hello"}] with gpt-4o: 3 + 1 + 1 + 3.
        Assert.Equal(8, Counter.CountPrompt([new("user", "Hello")]));
        Assert.Equal(8 + 3 + Counter.Count("system") + Counter.Count("Be brief."),
            Counter.CountPrompt([new("system", "Be brief."), new("user", "Hello")]));
        Assert.Equal(8 + Counter.Count("alice") + 1, Counter.CountPrompt([new("user", "Hello", "alice")]));
    }

    [Fact]
    public void A_prompt_count_stops_once_past_the_limit()
    {
        var messages = Enumerable.Range(0, 100).Select(_ => new ChatTokenMessage("user", new string('b', 100_000))).ToList();

        Assert.InRange(Counter.CountPrompt(messages, stopAfter: 5000), 5001, 5000 + ChatTokenCounter.ChunkLength);
    }

    /// <summary>
    /// The figure behind "a few ms per KB at most": the counting time of a megabyte of each hostile shape,
    /// printed (run with <c>--logger "console;verbosity=detailed"</c>), never asserted, since CI machines vary.
    /// Exact counting of the first one takes minutes.
    /// </summary>
    [Fact]
    public void Prints_the_counting_time_per_KB_of_a_megabyte_of_hostile_text()
    {
        const int Megabyte = 1 << 20;
        var inputs = new (string Name, string Text)[]
        {
            ("one letter", new string('a', Megabyte)),
            ("spaces", new string(' ', Megabyte)),
            ("punctuation", new string('!', Megabyte)),
            ("random letters", Random(Megabyte, "abcdefghijklmnopqrstuvwxyz")),
            ("CJK", Random(Megabyte, "你好世界中文字符測試")),
            ("digits", Random(Megabyte, "0123456789")),
            ("mixed", Random(Megabyte, "abcXYZ019 !?.,;:\n\t")),
            ("words without spaces", WordsWithoutSpaces(Megabyte)),
        };
        Counter.Count("warm up");

        foreach (var (name, text) in inputs)
        {
            var clock = Stopwatch.StartNew();
            var tokens = Counter.Count(text);
            var elapsed = clock.Elapsed;
            clock.Restart();
            var stopped = Counter.Count(text, stopAfter: 32_000);
            var stoppedElapsed = clock.Elapsed;

            Assert.True(tokens > 32_000 ? stopped is > 32_000 and <= 32_000 + ChatTokenCounter.ChunkLength : stopped == tokens);
            TestContext.Current.TestOutputHelper!.WriteLine(
                $"token count, 1 MiB of {name}: {tokens} tokens in {elapsed.TotalMilliseconds:F0} ms " +
                $"({elapsed.TotalMilliseconds / 1024:F3} ms/KB); stopped past 32000 in {stoppedElapsed.TotalMilliseconds:F0} ms");
        }
    }

    private static readonly string[] Words =
        ["information", "technology", "international", "the", "and", "streaming", "tokenizer", "quadratic", "server", "events"];

    private static string WordsWithoutSpaces(int length)
    {
        var random = new Random(length);
        var text = new System.Text.StringBuilder(length + 16);
        while (text.Length < length)
        {
            text.Append(Words[random.Next(Words.Length)]);
        }

        return text.ToString(0, length);
    }

    private static string Random(int length, string alphabet)
    {
        var random = new Random(length);
        return string.Create(length, alphabet, (span, chars) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = chars[random.Next(chars.Length)];
            }
        });
    }
}
