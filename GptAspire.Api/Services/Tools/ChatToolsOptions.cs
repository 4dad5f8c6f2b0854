namespace GptAspire.Api.Services.Tools;

/// <summary>Settings of the tools the model may call, from the <c>Chat:Tools</c> configuration section.</summary>
public sealed class ChatToolsOptions
{
    public const string SectionName = "Chat:Tools";

    /// <summary>Offer the registered tools to the model. Off: answers are text only.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Rounds of tool calls one answer may make (a round: the model asks for one or more calls, they run, it reads
    /// the results). An answer that asks for more ends with the error <c>tool_rounds_exceeded</c>.
    /// </summary>
    public int MaxRounds { get; set; } = 5;

    /// <summary>The longest one tool call may run; a slower one gives the model an error result instead.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}
