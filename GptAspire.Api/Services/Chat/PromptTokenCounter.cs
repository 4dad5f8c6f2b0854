using Microsoft.Extensions.AI;
using GptAspire.Tokenization;

namespace GptAspire.Api.Services.Chat;

/// <summary>
/// Counts tokens locally, as OpenAI bills them, so that a prompt that cannot fit the context window is
/// refused before any upstream call. The formula and the bounded-time counting are shared with the emulator
/// (<see cref="ChatTokenCounter"/>). Creating a tokenizer takes hundreds of milliseconds: make one per app.
/// </summary>
public sealed class PromptTokenCounter(ChatTokenCounter counter)
{
    /// <summary>The tokenizer of <paramref name="model"/>, or o200k_base (GPT-4o's) when the name is unknown.</summary>
    public static PromptTokenCounter ForModel(string model) => new(ChatTokenCounter.ForModel(model));

    public int Count(string text) => counter.Count(text);

    /// <summary>
    /// The prompt tokens of a conversation, counted like OpenAI's <c>usage.prompt_tokens</c>. Counting stops as
    /// soon as the count passes <paramref name="stopAfter"/>, so a huge prompt costs no more than a refused one.
    /// </summary>
    public int CountPrompt(IEnumerable<(string Role, string Content)> messages, int stopAfter = int.MaxValue) =>
        counter.CountPrompt(messages.Select(m => new ChatTokenMessage(m.Role, m.Content)), stopAfter);

    /// <summary>The tokens the definitions of <paramref name="tools"/> add to every prompt they are offered with.</summary>
    public int CountTools(IEnumerable<AIFunction> tools) =>
        counter.CountTools(tools.Select(tool => new ChatTokenTool(tool.Name, tool.Description, tool.JsonSchema.GetRawText())));
}
