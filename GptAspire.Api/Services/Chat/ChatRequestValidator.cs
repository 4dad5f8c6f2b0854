using GptAspire.Api.Models;

namespace GptAspire.Api.Services.Chat;

/// <summary>
/// Checks a <see cref="ChatRequest"/> and names every bad field by its JSON path
/// (<c>messages[2].content</c>), the way <c>ValidationProblemDetails.errors</c> reports them.
/// </summary>
public static class ChatRequestValidator
{
    public const int MaxMessages = 500;
    /// <summary>The default of <c>Chat:MaxOutputTokens</c>: the most output tokens of GPT-4o and GPT-4o mini.</summary>
    public const int DefaultMaxOutputTokens = 16_384;
    public const double MaxTemperature = 2.0;

    public static readonly string[] Roles = ["system", "user", "assistant"];

    /// <summary>Checks every field of <paramref name="request"/>; <c>maxTokens</c> may be 1 to <paramref name="maxOutputTokens"/>.</summary>
    public static Dictionary<string, string[]> Validate(ChatRequest? request, int maxOutputTokens = DefaultMaxOutputTokens)
    {
        var errors = new Dictionary<string, string[]>();
        if (request is null)
        {
            errors["body"] = ["The request body must be a JSON object with a 'messages' array."];
            return errors;
        }

        if (request.Messages is null || request.Messages.Count == 0)
        {
            errors["messages"] = ["At least one message is required."];
        }
        else if (request.Messages.Count > MaxMessages)
        {
            errors["messages"] = [$"At most {MaxMessages} messages are allowed."];
        }
        else
        {
            for (var i = 0; i < request.Messages.Count; i++)
            {
                var message = request.Messages[i];
                if (message is null)
                {
                    errors[$"messages[{i}]"] = ["The message must be an object with 'role' and 'content'."];
                    continue;
                }

                if (string.IsNullOrEmpty(message.Role))
                {
                    errors[$"messages[{i}].role"] = ["The role is required: system, user or assistant."];
                }
                else if (!Roles.Contains(message.Role))
                {
                    errors[$"messages[{i}].role"] = [$"Unknown role '{Truncate(message.Role)}': use system, user or assistant."];
                }

                if (string.IsNullOrWhiteSpace(message.Content))
                {
                    errors[$"messages[{i}].content"] = ["The content must not be empty."];
                }
            }

            if (!errors.Keys.Any(k => k.StartsWith("messages", StringComparison.Ordinal))
                && request.Messages[^1].Role == "assistant")
            {
                errors["messages"] = ["The last message must be from the user or the system, not the assistant."];
            }
        }

        if (request.MaxTokens is { } maxTokens && (maxTokens < 1 || maxTokens > maxOutputTokens))
        {
            errors["maxTokens"] = [$"maxTokens must be between 1 and {maxOutputTokens}."];
        }

        if (request.Temperature is { } temperature && (double.IsNaN(temperature) || temperature < 0 || temperature > MaxTemperature))
        {
            errors["temperature"] = [$"temperature must be between 0 and {MaxTemperature}."];
        }

        return errors;
    }

    /// <summary>
    /// Checks that the prompt leaves room for an answer in the model's context window. A prompt counted only up
    /// to the window (see <see cref="ChatLimits"/>) may be longer than <paramref name="promptTokens"/> says when it
    /// does not fit, so that message names no length.
    /// </summary>
    public static Dictionary<string, string[]> ValidateBudget(int promptTokens, int? maxTokens, int contextWindow)
    {
        var errors = new Dictionary<string, string[]>();
        if (promptTokens >= contextWindow)
        {
            errors["messages"] = [$"The conversation does not fit the model's context window of {contextWindow} tokens. Shorten it or start a new chat."];
        }
        else if (maxTokens is { } max && promptTokens + max > contextWindow)
        {
            errors["maxTokens"] = [$"maxTokens is {max}, but only {contextWindow - promptTokens} tokens are left after the {promptTokens}-token conversation."];
        }

        return errors;
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
