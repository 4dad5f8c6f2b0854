using GptAspire.Api.Models;
using GptAspire.Api.Services.Tools;
using Microsoft.Extensions.Options;

namespace GptAspire.Api.Services.Chat;

/// <summary>
/// The server's limits on one chat: the largest <c>maxTokens</c> a request may ask for, the cap applied when it
/// asks for none, and the longest prompt. Prompts are counted only as far as the limit: a huge one is refused
/// for the cost of a refused one.
/// </summary>
public sealed class ChatLimits(IOptions<ChatStreamOptions> options, ChatModelInfo model, PromptTokenCounter tokenCounter, ChatTools tools)
{
    // The tool definitions go with every prompt: counted once.
    private readonly int _toolTokens = tokenCounter.CountTools(tools.Functions);

    /// <summary>The cap on answer tokens when a request does not set <c>maxTokens</c>.</summary>
    public int DefaultMaxTokens => options.Value.DefaultMaxTokens;

    /// <summary>The largest <c>maxTokens</c> a request may ask for.</summary>
    public int MaxOutputTokens => options.Value.MaxOutputTokens;

    /// <summary>The longest prompt, in tokens, sent upstream.</summary>
    public int MaxPromptTokens => options.Value.MaxPromptTokens;

    /// <summary>The fields of <paramref name="request"/> that are missing or out of range, by JSON path.</summary>
    public Dictionary<string, string[]> Validate(ChatRequest? request) =>
        ChatRequestValidator.Validate(request, MaxOutputTokens);

    /// <summary>
    /// Counts the prompt of a valid <paramref name="request"/> and checks it against <see cref="MaxPromptTokens"/>
    /// and the model's context window. <paramref name="promptTokens"/> (the messages and the tools offered with them)
    /// is exact when there are no errors.
    /// </summary>
    public Dictionary<string, string[]> ValidatePrompt(ChatRequest request, out int promptTokens)
    {
        var limit = Math.Min(MaxPromptTokens, model.ContextWindow - 1);
        promptTokens = _toolTokens + tokenCounter.CountPrompt(request.Messages!.Select(m => (m.Role!, m.Content!)), stopAfter: limit - _toolTokens);
        if (promptTokens > MaxPromptTokens)
        {
            return new()
            {
                ["messages"] = [$"The conversation is over {MaxPromptTokens} tokens long, the most this server accepts. Shorten it or start a new chat."],
            };
        }

        return ChatRequestValidator.ValidateBudget(promptTokens, request.MaxTokens, model.ContextWindow);
    }

    /// <summary>
    /// The cap on answer tokens the server applies to a valid request: its <c>maxTokens</c>, else
    /// <see cref="DefaultMaxTokens"/> within what the context window leaves after the prompt.
    /// </summary>
    public int EffectiveMaxTokens(ChatRequest request, int promptTokens) =>
        request.MaxTokens ?? Math.Clamp(model.ContextWindow - promptTokens, 1, DefaultMaxTokens);
}
