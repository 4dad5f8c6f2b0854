using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GptAspire.Api.Models;
using GptAspire.Api.Services.Chat;
using GptAspire.Api.Services.Tools;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Tests;

public class ChatLimitsTests
{
    private static readonly PromptTokenCounter Counter = PromptTokenCounter.ForModel("gpt-4o-mini");

    private static ChatLimits Limits(int contextWindow = 128_000, int defaultMaxTokens = 4096, int maxOutputTokens = 16_384, int maxPromptTokens = 32_000) =>
        new(Options.Create(new ChatStreamOptions
        {
            DefaultMaxTokens = defaultMaxTokens,
            MaxOutputTokens = maxOutputTokens,
            MaxPromptTokens = maxPromptTokens,
        }), new ChatModelInfo("gpt-4o-mini", contextWindow, false), Counter, NoTools);

    private static readonly ChatTools NoTools = new([], EmptyServices.Instance, Options.Create(new ChatToolsOptions()));

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }

    [Fact]
    public void The_tools_offered_count_in_every_prompt()
    {
        var tools = new ChatTools([new(_ => BuiltInTools.Calculate())], EmptyServices.Instance, Options.Create(new ChatToolsOptions()));
        var options = Options.Create(new ChatStreamOptions());
        var model = new ChatModelInfo("gpt-4o-mini", 128_000, false);

        new ChatLimits(options, model, Counter, NoTools).ValidatePrompt(Ask("Hello"), out var without);
        new ChatLimits(options, model, Counter, tools).ValidatePrompt(Ask("Hello"), out var with);

        Assert.Equal(Counter.CountTools([BuiltInTools.Calculate()]), with - without);
        Assert.InRange(with - without, 10, 100);
    }

    private static ChatRequest Ask(string content, int? maxTokens = null) => new([new("user", content)], maxTokens, null);

    [Fact]
    public void A_request_without_maxTokens_gets_the_default_cap()
    {
        Assert.Equal(4096, Limits().EffectiveMaxTokens(Ask("Hi"), promptTokens: 8));
        Assert.Equal(300, Limits().EffectiveMaxTokens(Ask("Hi", maxTokens: 300), promptTokens: 8));
    }

    [Fact]
    public void The_default_cap_shrinks_to_what_the_context_window_leaves()
    {
        Assert.Equal(192, Limits(contextWindow: 8192).EffectiveMaxTokens(Ask("Hi"), promptTokens: 8000));
    }

    [Fact]
    public void MaxTokens_over_the_configured_maximum_is_refused_on_maxTokens()
    {
        var errors = Limits(maxOutputTokens: 1000).Validate(Ask("Hi", maxTokens: 1001));

        Assert.Equal("maxTokens must be between 1 and 1000.", Assert.Single(errors["maxTokens"]));
        Assert.Empty(Limits(maxOutputTokens: 1000).Validate(Ask("Hi", maxTokens: 1000)));
    }

    [Fact]
    public void A_prompt_over_the_maximum_is_refused_on_messages_and_counted_only_that_far()
    {
        var errors = Limits(maxPromptTokens: 100).ValidatePrompt(Ask(new string('a', 1 << 20)), out var promptTokens);

        Assert.Contains("over 100 tokens", Assert.Single(errors["messages"]));
        Assert.InRange(promptTokens, 101, 100 + Tokenization.ChatTokenCounter.ChunkLength);
    }

    [Fact]
    public void A_prompt_within_the_limits_is_counted_exactly()
    {
        var errors = Limits().ValidatePrompt(Ask("Hello"), out var promptTokens);

        Assert.Empty(errors);
        Assert.Equal(8, promptTokens);
    }

    [Fact]
    public void A_prompt_that_does_not_fit_the_window_is_refused_even_under_the_maximum()
    {
        var errors = Limits(contextWindow: 50, maxPromptTokens: 32_000).ValidatePrompt(Ask(string.Join(' ', Enumerable.Repeat("word", 100))), out _);

        Assert.Contains("context window of 50 tokens", Assert.Single(errors["messages"]));
    }

    /// <summary>
    /// The server's own work on the hostile request, without the network: parse 1 MiB of JSON, validate it,
    /// count its prompt up to the limit. Printed, not asserted (machines vary).
    /// </summary>
    [Fact]
    public void Prints_the_time_to_refuse_a_megabyte_body_of_one_letter()
    {
        var body = Encoding.UTF8.GetBytes($$"""{"messages":[{"role":"user","content":"{{new string('a', (1 << 20) - 44)}}"}]}""");
        var limits = Limits();
        var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var timings = new List<double>();
        Dictionary<string, string[]> errors = [];
        for (var i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            var request = JsonSerializer.Deserialize<ChatRequest>(body, json);
            errors = limits.Validate(request);
            if (errors.Count == 0)
            {
                errors = limits.ValidatePrompt(request!, out _);
            }

            timings.Add(clock.Elapsed.TotalMilliseconds);
        }

        Assert.Contains("over 32000 tokens", Assert.Single(errors["messages"]));
        TestContext.Current.TestOutputHelper!.WriteLine(
            $"API work for a 1 MiB body of one letter (parse, validate, count to the limit): first {timings[0]:F1} ms (cold), " +
            $"then fastest {timings.Skip(1).Min():F1} ms, median {timings.Skip(1).Order().ElementAt(4):F1} ms");
    }
}
