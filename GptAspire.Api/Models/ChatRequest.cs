namespace GptAspire.Api.Models;

/// <summary>The body of <c>POST /api/chat/stream</c>.</summary>
/// <param name="Messages">The conversation so far, oldest first; the last one is usually the user's question.</param>
/// <param name="MaxTokens">The most tokens the answer may have (1 to <c>Chat:MaxOutputTokens</c>); <c>Chat:DefaultMaxTokens</c> when absent.</param>
/// <param name="Temperature">Sampling temperature, 0 to 2; the model's default when absent.</param>
public sealed record ChatRequest(IReadOnlyList<ChatRequestMessage>? Messages, int? MaxTokens = null, double? Temperature = null);

/// <summary>One message of the conversation.</summary>
/// <param name="Role"><c>system</c>, <c>user</c> or <c>assistant</c>.</param>
/// <param name="Content">The text of the message.</param>
public sealed record ChatRequestMessage(string? Role, string? Content);
