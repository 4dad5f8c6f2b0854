namespace GptAspire.OpenAIEmulator.Services;

/// <summary>Everything decided about one reply before the first byte is sent.</summary>
public sealed record CompletionPlan
{
    public required string Id { get; init; }
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required ChatRoute Route { get; init; }
    public required IReadOnlyList<TokenPiece> Pieces { get; init; }

    /// <summary>The function calls the reply makes instead of text (then <see cref="Pieces"/> is empty).</summary>
    public IReadOnlyList<PlannedToolCall> ToolCalls { get; init; } = [];

    /// <summary><c>stop</c>, <c>length</c>, <c>content_filter</c> or <c>tool_calls</c>; null when the connection is to be dropped instead.</summary>
    public required string? FinishReason { get; init; }

    public required int PromptTokens { get; init; }
    public required TimeSpan FirstTokenDelay { get; init; }
    public required TimeSpan TokenDelay { get; init; }
    public required bool IncludeUsage { get; init; }

    /// <summary>After its tokens the stream sends a chunk that is not JSON (<c>[emulator:bad-chunk]</c>).</summary>
    public bool BadChunk { get; init; }

    public bool Drops => FinishReason is null;

    public int CompletionTokens => Pieces.Sum(piece => piece.TokenCount) + ToolCalls.Sum(call => call.CompletionTokens);

    public string Text => string.Concat(Pieces.Select(piece => piece.Text));

    /// <summary>How long the whole reply takes to generate: the first token, then one delay per further token.</summary>
    public TimeSpan GenerationTime => Chunks == 0
        ? FirstTokenDelay
        : FirstTokenDelay + TokenDelay * (Chunks - 1);

    // A call streams as a chunk with its name, then one per fragment of its arguments.
    private int Chunks => Pieces.Count + ToolCalls.Sum(call => 1 + call.Fragments.Count);
}
