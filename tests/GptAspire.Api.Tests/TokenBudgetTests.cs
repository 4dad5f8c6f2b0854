using GptAspire.Api.Services.Chat;


namespace GptAspire.Api.Tests;

public class TokenBudgetTests
{
    private static readonly PromptTokenCounter Gpt4o = PromptTokenCounter.ForModel("gpt-4o-mini");

    [Fact]
    public void Counts_prompt_tokens_like_OpenAI()
    {
        // OpenAI reports prompt_tokens = 8 for [{"role":"user","content":"Hello"}] with gpt-4o: 3 + 1 + 1 + 3.
        Assert.Equal(8, Gpt4o.CountPrompt([("user", "Hello")]));
        Assert.Equal(Gpt4o.CountPrompt([("user", "Hello")]) + 3 + Gpt4o.Count("system") + Gpt4o.Count("Be brief."),
            Gpt4o.CountPrompt([("system", "Be brief."), ("user", "Hello")]));
    }

    [Fact]
    public void Unknown_models_fall_back_to_the_gpt_4o_tokenizer()
    {
        Assert.Equal(Gpt4o.Count("Hello, world"), PromptTokenCounter.ForModel("my-deployment").Count("Hello, world"));
    }

    [Theory]
    [InlineData("gpt-4o-mini", 128_000)]
    [InlineData("gpt-4", 8_192)]
    [InlineData("gpt-4-turbo", 128_000)]
    [InlineData("gpt-4.1-mini", 1_047_576)]
    [InlineData("gpt-35-turbo", 16_385)]
    [InlineData("my-custom-deployment", ModelCatalog.DefaultContextWindow)]
    public void Knows_the_context_window_of_common_models(string model, int window)
    {
        Assert.Equal(window, ModelCatalog.ContextWindowFor(model));
    }
}
