using Microsoft.ML.Tokenizers;

namespace GptAspire.Api.Services;

/// <summary>
/// Counts tokens locally, as OpenAI bills them, so that a prompt that cannot fit the context window is
/// refused before any upstream call. Creating a tokenizer takes hundreds of milliseconds: make one per app.
/// </summary>
public sealed class PromptTokenCounter(Tokenizer tokenizer)
{
    // OpenAI's chat format wraps each message in a few tokens and primes the reply with three more.
    private const int TokensPerMessage = 3;
    private const int ReplyPriming = 3;

    /// <summary>The tokenizer of <paramref name="model"/>, or o200k_base (GPT-4o's) when the name is unknown.</summary>
    public static PromptTokenCounter ForModel(string model)
    {
        try
        {
            return new PromptTokenCounter(TiktokenTokenizer.CreateForModel(model));
        }
        catch (NotSupportedException)
        {
            return new PromptTokenCounter(TiktokenTokenizer.CreateForModel("gpt-4o"));
        }
    }

    public int Count(string text) => tokenizer.CountTokens(text);

    /// <summary>The prompt tokens of a conversation, counted like OpenAI's <c>usage.prompt_tokens</c>.</summary>
    public int CountPrompt(IEnumerable<(string Role, string Content)> messages) =>
        messages.Sum(m => TokensPerMessage + Count(m.Role) + Count(m.Content)) + ReplyPriming;
}
